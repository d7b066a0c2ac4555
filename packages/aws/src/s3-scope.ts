import { credentialFingerprint, describeProvenance } from "@tributary/auth";
import { logOncePerRun, taskContext } from "@tributary/flow";
import type { ResolvedAwsCredentials } from "./aws-credentials.js";

/** What one S3 task touches: the actions, and the bucket with one key, a few keys or a key prefix. */
export interface S3Scope {
  /** IAM actions such as `s3:GetObject`. `s3:ListBucket` is limited to `prefix` through the `s3:prefix` condition. */
  actions: readonly string[];
  bucket: string;
  /** One object key. */
  key?: string | undefined;
  /** Object keys, each allowed on its own. */
  keys?: readonly string[] | undefined;
  /** A key prefix (for listings); `""` is the whole bucket. */
  prefix?: string | undefined;
}

/** @internal A session policy and the words the provenance log uses for it. */
export interface SessionPolicy {
  /** The IAM policy document, as JSON. */
  policy: string;
  /** Such as `s3:GetObject on reports/exports/2026/*`: never a value. */
  label: string;
  /** A fingerprint of the policy, for cache keys. The same scope gives the same object (until 1,000 others). */
  id: string;
}

/** The least-privilege options every S3 task takes. */
export interface LeastPrivilegeOptions {
  /**
   * With a role (`ROLE_ARN` in `AWS_CREDENTIALS`), assume it with a session policy that allows only this task's
   * actions on its bucket and key (or prefix): the credentials cannot touch anything else, whatever the role
   * allows. Without a role it cannot scope, says so once per run at `info`, and runs with the full credential.
   */
  leastPrivilege?: boolean | undefined;
}

const policies = new Map<string, SessionPolicy>();

/**
 * @internal The session policy for the scopes of one task call, built once per distinct scope: a call that was
 * seen before pays for one short key and one lookup, and gets the same object (and `id`) as the first time.
 */
export function s3SessionPolicy(scopes: readonly S3Scope[]): SessionPolicy {
  let key = "";
  for (const s of scopes) {
    key += `${s.actions.length === 1 ? s.actions[0] : s.actions.join(",")}\n${s.bucket}\n`;
    key +=
      s.key !== undefined
        ? `k${s.key}\n`
        : s.keys !== undefined
          ? `K${s.keys.join("\n")}\n\n`
          : `p${s.prefix ?? ""}\n`;
  }
  let policy = policies.get(key);
  if (!policy) {
    if (policies.size >= 1000) policies.clear();
    policy = buildPolicy(scopes);
    policies.set(key, policy);
  }
  return policy;
}

function buildPolicy(scopes: readonly S3Scope[]): SessionPolicy {
  const statements: object[] = [];
  const labels: string[] = [];
  for (const scope of scopes) {
    const objectActions = scope.actions.filter((a) => a !== "s3:ListBucket");
    const paths = scope.keys ?? [scope.key !== undefined ? scope.key : `${scope.prefix ?? ""}*`];
    const resources = paths.map((path) => `arn:aws:s3:::${scope.bucket}/${path}`);
    if (objectActions.length > 0) {
      statements.push({
        Effect: "Allow",
        Action: objectActions,
        Resource: resources.length === 1 ? resources[0] : resources,
      });
    }
    if (scope.actions.includes("s3:ListBucket")) {
      statements.push({
        Effect: "Allow",
        Action: "s3:ListBucket",
        Resource: `arn:aws:s3:::${scope.bucket}`,
        Condition: { StringLike: { "s3:prefix": `${scope.prefix ?? ""}*` } },
      });
    }
    labels.push(
      `${scope.actions.join(", ")} on ${paths.map((path) => `${scope.bucket}/${path}`).join(", ")}`,
    );
  }
  const policy = JSON.stringify({ Version: "2012-10-17", Statement: statements });
  // A fingerprint, not a counter: two copies of this package in one process share the client cache.
  return { policy, label: labels.join("; "), id: credentialFingerprint(policy) };
}

/** @internal What one task of another service (Lambda, Step Functions, SSM) may do: actions on resources. */
export interface Grant {
  /** IAM actions such as `lambda:InvokeFunction`. */
  actions: readonly string[];
  /** Resource ARNs (IAM wildcards allowed). */
  resources: readonly string[];
  /** An IAM condition block, such as `kms:ViaService` for decryption through SSM. */
  condition?: Record<string, Record<string, string>>;
}

/**
 * @internal The session policy allowing only the grants of one task call, built once per distinct call like
 * `s3SessionPolicy`. The label names the actions and resources, never a value.
 */
export function grantPolicy(grants: readonly Grant[]): SessionPolicy {
  const key = JSON.stringify(grants);
  let policy = policies.get(key);
  if (!policy) {
    if (policies.size >= 1000) policies.clear();
    const statements = grants.map((g) => ({
      Effect: "Allow",
      Action: g.actions.length === 1 ? g.actions[0] : g.actions,
      Resource: g.resources.length === 1 ? g.resources[0] : g.resources,
      ...(g.condition ? { Condition: g.condition } : {}),
    }));
    const text = JSON.stringify({ Version: "2012-10-17", Statement: statements });
    const label = grants.map((g) => `${g.actions.join(", ")} on ${g.resources.join(", ")}`).join("; ");
    policy = { policy: text, label, id: credentialFingerprint(text) };
    policies.set(key, policy);
  }
  return policy;
}

/** @internal The ARN partition of a region (`aws`, `aws-cn`, `aws-us-gov`). */
export function partitionOf(region: string | undefined): string {
  if (region?.startsWith("cn-")) return "aws-cn";
  if (region?.startsWith("us-gov-")) return "aws-us-gov";
  return "aws";
}

/** @internal Says once per run (and name) that a credential cannot be scoped. */
export function noteUnscoped(name: string, why: string): void {
  logOncePerRun(
    `unscoped:${name}`,
    `leastPrivilege: ${name} cannot be scoped (${why}); the task runs with the whole credential`,
  );
}

/** @internal Logs the provenance of scoped credentials once per run and scope: the source and the scope. */
export function noteScoped(name: string, creds: ResolvedAwsCredentials): void {
  // A cached call in the same run checks one field; the set below still holds across interleaved runs.
  const runId = taskContext()?.runId ?? "no-run";
  if (creds.loggedRun === runId) return;
  creds.loggedRun = runId;
  logOncePerRun(`scoped:${name}:${creds.id}`, () => describeProvenance(name, creds.source));
}

import { type Identity, registerIdentityProbe } from "@tributary/auth";
import { type AwsCredentialOptions, envRegion, resolveAwsCredentials } from "./aws-credentials.js";
import { toAwsError } from "./aws-errors.js";

/** The options of `awsIdentity`. */
export interface AwsIdentityOptions extends AwsCredentialOptions {
  /** The region STS is called in. Default: `REGION` in `AWS_CREDENTIALS`, then `AWS_REGION`, then `us-east-1`. */
  region?: string;
}

/**
 * The IAM role behind an STS assumed-role ARN (`arn:aws:sts::1:assumed-role/etl/session` →
 * `arn:aws:iam::1:role/etl`); STS leaves a role's path out, and so does this.
 */
function roleOf(arn: string | undefined): string | undefined {
  const m = arn && /^arn:([\w-]+):sts::(\d{12}):assumed-role\/([^/]+)\//.exec(arn);
  return m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : undefined;
}

/**
 * Proves AWS credentials with STS `GetCallerIdentity` (a call no IAM policy can deny) and returns the caller's ARN
 * and account. With `ROLE_ARN` the role is assumed first, so the ARN is the assumed role's session, and `role`
 * names the role (for a role from web identity or the default chain too).
 * @example
 * const who = await awsIdentity();
 * console.log(who.principal, who.role); // arn:aws:sts::123456789012:assumed-role/etl/… arn:aws:iam::123456789012:role/etl
 */
export async function awsIdentity(options: AwsIdentityOptions = {}): Promise<Identity> {
  const resolved = await resolveAwsCredentials(options);
  const region = options.region ?? resolved.region ?? envRegion() ?? "us-east-1";
  const { GetCallerIdentityCommand, STSClient } = await import("@aws-sdk/client-sts");
  const sts = new STSClient({
    region,
    credentials: resolved.provider,
    ...(options.stsEndpoint ? { endpoint: options.stsEndpoint } : {}),
  });
  try {
    const out = await sts.send(new GetCallerIdentityCommand({}));
    const role = roleOf(out.Arn);
    return {
      name: options.secretName ?? "AWS_CREDENTIALS",
      service: "AWS STS",
      principal: out.Arn ?? "(no ARN)",
      account: out.Account,
      ...(role ? { role } : {}),
      source: resolved.source,
    };
  } catch (error) {
    throw toAwsError(error, "STS", resolved.source, "GetCallerIdentity");
  } finally {
    sts.destroy();
  }
}

registerIdentityProbe("AWS_CREDENTIALS", (options) =>
  awsIdentity({
    ...(options.secretName !== undefined ? { secretName: options.secretName } : {}),
    ...(options.endpoint !== undefined ? { stsEndpoint: options.endpoint } : {}),
  }),
);

/** One statement of an IAM policy document, as far as the stand-ins evaluate it. */
export interface IamStatement {
  Effect: "Allow" | "Deny";
  Action: string | string[];
  Resource: string | string[];
  /** Only `StringLike` and `StringEquals` on request keys such as `s3:prefix`. */
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** An IAM policy document (a session policy passed to `AssumeRole*`). */
export interface IamPolicy {
  Version?: string;
  Statement: IamStatement | IamStatement[];
}

const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

function wildcard(pattern: string, value: string, ignoreCase = false): boolean {
  const source = pattern
    .split("*")
    .map((part) =>
      part
        .split("?")
        .map((p) => p.replace(/[.+^${}()|[\]\\]/g, "\\$&"))
        .join("."),
    )
    .join(".*");
  return new RegExp(`^${source}$`, ignoreCase ? "i" : "").test(value);
}

function conditionHolds(
  condition: IamStatement["Condition"],
  context: Readonly<Record<string, string>>,
): boolean {
  if (!condition) return true;
  for (const [operator, keys] of Object.entries(condition)) {
    for (const [key, expected] of Object.entries(keys)) {
      const actual = context[key];
      if (actual === undefined) return false;
      const match =
        operator === "StringLike"
          ? list(expected).some((p) => wildcard(p, actual))
          : operator === "StringEquals"
            ? list(expected).includes(actual)
            : false;
      if (!match) return false;
    }
  }
  return true;
}

/**
 * Evaluates an IAM policy as AWS does for a session policy: an explicit `Deny` wins, otherwise some `Allow` must
 * match the action, the resource ARN and the conditions. Throws on a document that is not a policy.
 */
export function iamPolicyAllows(
  policy: IamPolicy,
  action: string,
  resourceArn: string,
  context: Readonly<Record<string, string>> = {},
): boolean {
  let allowed = false;
  for (const statement of list(policy.Statement)) {
    const actionMatch = list(statement.Action).some((a) => wildcard(a, action, true));
    const resourceMatch = list(statement.Resource).some((r) => wildcard(r, resourceArn));
    if (!actionMatch || !resourceMatch || !conditionHolds(statement.Condition, context)) continue;
    if (statement.Effect === "Deny") return false;
    if (statement.Effect === "Allow") allowed = true;
  }
  return allowed;
}

/** Parses a policy document as STS does, or says why it is malformed. */
export function parseIamPolicy(text: string): IamPolicy | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return "The policy is not valid JSON";
  }
  const statements = (parsed as { Statement?: unknown })?.Statement;
  if (statements === undefined) return "The policy has no Statement";
  for (const s of list(statements) as Partial<IamStatement>[]) {
    if ((s.Effect !== "Allow" && s.Effect !== "Deny") || s.Action === undefined || s.Resource === undefined) {
      return "Each statement needs Effect (Allow or Deny), Action and Resource";
    }
  }
  return parsed as IamPolicy;
}

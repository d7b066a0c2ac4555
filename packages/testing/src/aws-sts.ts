import { type KeyObject, randomBytes, randomUUID } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { type IamPolicy, iamPolicyAllows, parseIamPolicy } from "./aws-policy.js";
import { verifyIdentityToken } from "./oidc-issuer.js";
import { type AwsKeyPair, checkSigV4, randomKeyPair, type SigV4Check } from "./sigv4.js";
import type { StandIn, StandInReply, StandInRequest } from "./stand-in.js";

/** The account id in the stand-ins' ARNs. */
export const STAND_IN_ACCOUNT = "123456789012";
const ACCOUNT = STAND_IN_ACCOUNT;

/** Escapes text for XML. */
export function xmlEscape(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c] as string,
  );
}

/** What an `authorize` hook of an AWS stand-in is asked. */
export interface AwsAuthorizeRequest {
  /** The access key that signed the request. */
  accessKeyId: string;
  /** The IAM action, such as `s3:PutObject` or `secretsmanager:GetSecretValue`. */
  action: string;
  /** The bucket, object key or secret id, when there is one. */
  resource: string;
  /** Request context keys such as `s3:prefix` (for `ListBucket`). */
  context?: Readonly<Record<string, string>>;
}

/**
 * What an AWS stand-in's `sts` option takes: answer STS (`POST /` with a form body) too — `AssumeRole`,
 * `AssumeRoleWithWebIdentity` and `GetCallerIdentity`. Role assumptions issue temporary key pairs that the stand-in
 * then accepts until they expire; a session `Policy` passed with them is enforced on every call signed with the
 * issued key. `durationSeconds` overrides the lifetime asked for (to test refresh). `webIdentity` is the OIDC
 * provider trusted for `AssumeRoleWithWebIdentity`: the token's RS256 signature, audience and expiry are checked.
 */
export interface StandInStsOptions {
  durationSeconds?: number;
  webIdentity?: { publicKey: KeyObject | string; audience: string; issuer?: string };
}

/** One role assumption seen by the STS part of the stand-in. */
export interface AssumedRole {
  roleArn: string;
  roleSessionName: string;
  externalId: string | undefined;
  /** The subject of the web-identity token, for `AssumeRoleWithWebIdentity`. */
  webIdentitySubject?: string;
  /** The session policy passed, parsed. */
  policy?: IamPolicy;
  /** The temporary access key issued. */
  accessKeyId: string;
  /** When the issued key pair expires (epoch ms). */
  expiresAt: number;
}

/** The options the Lambda, Step Functions and Parameter Store stand-ins share. */
export interface AwsServiceStandInOptions {
  /** The key pairs accepted. Default: one random pair (see `keyPairs` on the stand-in). */
  keyPairs?: AwsKeyPair[];
  /** Return false to answer `AccessDeniedException`. Default: everything allowed. */
  authorize?: (request: AwsAuthorizeRequest) => boolean;
  /** Also answer STS, issuing keys whose session policies are enforced (see `StandInStsOptions`). */
  sts?: StandInStsOptions;
  /** The region in ARNs. Default `us-east-1`. */
  region?: string;
}

/** What the Lambda, Step Functions and Parameter Store stand-ins share. */
export interface AwsServiceStandIn extends StandIn {
  /** The key pairs accepted. `keyPairs[0]` is the default one. */
  readonly keyPairs: AwsKeyPair[];
  /** Every role assumption answered (with `sts`), in order. */
  readonly assumedRoles: AssumedRole[];
}

/** @internal The auth every AWS stand-in shares: SigV4, STS, session policies and the `authorize` hook. */
export interface AwsStandInAuth {
  readonly keyPairs: AwsKeyPair[];
  readonly assumedRoles: AssumedRole[];
  /** True for an STS call this stand-in answers (`POST /` with a form body and an `Action`). */
  isSts(request: StandInRequest): Promise<boolean>;
  /** Answers an STS call (checks its signature, except for `AssumeRoleWithWebIdentity`). */
  answerSts(request: StandInRequest): Promise<StandInReply>;
  /** Checks a request's SigV4 signature. */
  check(request: StandInRequest, options: { uriEscapePath: boolean; body?: Buffer }): Promise<SigV4Check>;
  /**
   * True when both the session policy of the signing key (if it was issued by `AssumeRole*`) and the `authorize` hook
   * allow `action` on `arn`; `resource` is what the hook is told.
   */
  allows(
    accessKeyId: string,
    action: string,
    arn: string,
    resource: string,
    context?: Record<string, string>,
  ): boolean;
}

/** @internal Builds the shared auth of an AWS stand-in. */
export function awsStandInAuth(
  keyPairs: AwsKeyPair[],
  authorize: (request: AwsAuthorizeRequest) => boolean,
  sts: StandInStsOptions | undefined,
): AwsStandInAuth {
  const assumedRoles: AssumedRole[] = [];
  /** What each issued temporary key is: the assumed-role ARN and its session policy. */
  const sessions = new Map<string, { arn: string; policy: IamPolicy | undefined }>();

  async function answer(request: StandInRequest, accessKeyId: string | undefined): Promise<StandInReply> {
    const form = new URLSearchParams((await request.body()).toString("utf8"));
    const stsError = (status: number, code: string, message: string) => ({
      status,
      headers: { "content-type": "text/xml" },
      body: `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
    });
    const action = form.get("Action");
    const ok = (body: string) => ({ headers: { "content-type": "text/xml" }, body });
    if (action === "GetCallerIdentity") {
      const id = accessKeyId as string;
      const arn = sessions.get(id)?.arn ?? `arn:aws:iam::${ACCOUNT}:user/stand-in`;
      return ok(
        `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>${xmlEscape(arn)}</Arn><UserId>${xmlEscape(id)}</UserId><Account>${arn.split(":")[4]}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
      );
    }
    if (action !== "AssumeRole" && action !== "AssumeRoleWithWebIdentity") {
      return stsError(400, "InvalidAction", `The STS stand-in does not implement ${String(action)}`);
    }
    const roleArn = form.get("RoleArn") ?? "";
    const sessionName = form.get("RoleSessionName") ?? "";
    if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/\S+$/.test(roleArn) || !sessionName) {
      return stsError(400, "ValidationError", "RoleArn and RoleSessionName are required");
    }
    let subject: string | undefined;
    if (action === "AssumeRoleWithWebIdentity") {
      const trusted = sts?.webIdentity;
      if (!trusted)
        return stsError(400, "InvalidIdentityToken", "No OpenIDConnect provider found in your account");
      const verdict = verifyIdentityToken(form.get("WebIdentityToken") ?? "", trusted);
      if (!verdict.ok) return stsError(400, verdict.code, verdict.message);
      subject = verdict.claims.sub;
    } else if (
      !authorize({ accessKeyId: accessKeyId as string, action: "sts:AssumeRole", resource: roleArn })
    ) {
      return stsError(
        403,
        "AccessDenied",
        `User ${accessKeyId} is not authorized to perform: sts:AssumeRole`,
      );
    }
    const policyText = form.get("Policy");
    const policy = policyText === null ? undefined : parseIamPolicy(policyText);
    if (typeof policy === "string") return stsError(400, "MalformedPolicyDocument", policy);
    const seconds = sts?.durationSeconds ?? Number(form.get("DurationSeconds") ?? 3600);
    const issued = randomKeyPair();
    const expiresAt = Date.now() + seconds * 1000;
    const key: AwsKeyPair = { ...issued, sessionToken: randomBytes(24).toString("base64"), expiresAt };
    keyPairs.push(key);
    const arn = `${roleArn.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/")}/${sessionName}`;
    sessions.set(key.accessKeyId, { arn, policy });
    assumedRoles.push({
      roleArn,
      roleSessionName: sessionName,
      externalId: form.get("ExternalId") ?? undefined,
      ...(subject !== undefined ? { webIdentitySubject: subject } : {}),
      ...(policy !== undefined ? { policy } : {}),
      accessKeyId: key.accessKeyId,
      expiresAt,
    });
    const credentials = `<Credentials><AccessKeyId>${key.accessKeyId}</AccessKeyId><SecretAccessKey>${xmlEscape(key.secretAccessKey)}</SecretAccessKey><SessionToken>${xmlEscape(key.sessionToken as string)}</SessionToken><Expiration>${new Date(expiresAt).toISOString()}</Expiration></Credentials><AssumedRoleUser><Arn>${xmlEscape(arn)}</Arn><AssumedRoleId>AROA${randomBytes(8).toString("hex").toUpperCase()}:${xmlEscape(sessionName)}</AssumedRoleId></AssumedRoleUser>`;
    const extra =
      subject !== undefined
        ? `<SubjectFromWebIdentityToken>${xmlEscape(subject)}</SubjectFromWebIdentityToken>`
        : "";
    return ok(
      `<${action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><${action}Result>${credentials}${extra}</${action}Result><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`,
    );
  }

  const formAction = async (request: StandInRequest) =>
    new URLSearchParams((await request.body()).toString("utf8")).get("Action");
  const check: AwsStandInAuth["check"] = (request, options) =>
    checkSigV4(
      {
        method: request.method,
        rawUrl: request.raw.url ?? "/",
        headers: request.headers as IncomingHttpHeaders,
        ...(options.body ? { body: options.body } : {}),
      },
      keyPairs,
      { uriEscapePath: options.uriEscapePath },
    );
  return {
    keyPairs,
    assumedRoles,
    isSts: async (request) =>
      sts !== undefined &&
      request.method === "POST" &&
      (request.raw.url ?? "/").split("?")[0] === "/" &&
      String(request.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded") &&
      (await formAction(request)) !== null,
    answerSts: async (request) => {
      // STS takes AssumeRoleWithWebIdentity unsigned: the token is the proof.
      if ((await formAction(request)) === "AssumeRoleWithWebIdentity") return answer(request, undefined);
      const verdict = await check(request, { uriEscapePath: true, body: await request.body() });
      if (!verdict.ok) {
        return {
          status: verdict.code === "AuthorizationHeaderMalformed" ? 400 : 403,
          headers: { "content-type": "text/xml" },
          body: `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${verdict.code}</Code><Message>${xmlEscape(verdict.message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
        };
      }
      return answer(request, verdict.key.accessKeyId);
    },
    check,
    allows: (accessKeyId, action, arn, resource, context) => {
      const policy = sessions.get(accessKeyId)?.policy;
      if (policy && !iamPolicyAllows(policy, action, arn, context)) return false;
      return authorize({ accessKeyId, action, resource, ...(context ? { context } : {}) });
    },
  };
}

/**
 * @internal Signs off a JSON-protocol AWS request (Lambda, Step Functions, SSM, Secrets Manager): the key that
 * signed it, or the JSON error AWS sends for a refused signature (`status` is that service's status for it).
 */
export async function checkJsonRequest(
  auth: AwsStandInAuth,
  request: StandInRequest,
  status: number,
): Promise<{ ok: true; accessKeyId: string } | { ok: false; reply: StandInReply }> {
  const verdict = await auth.check(request, { uriEscapePath: true, body: await request.body() });
  if (verdict.ok) return { ok: true, accessKeyId: verdict.key.accessKeyId };
  const fail = (type: string, message: string, code = status) => ({
    ok: false as const,
    reply: { status: code, ...awsJsonErrorReply(type, message) },
  });
  if (verdict.code === "InvalidAccessKeyId" || verdict.code === "InvalidToken") {
    return fail("UnrecognizedClientException", "The security token included in the request is invalid.");
  }
  if (verdict.code === "ExpiredToken") return fail("ExpiredTokenException", verdict.message);
  if (verdict.code === "SignatureDoesNotMatch") return fail("InvalidSignatureException", verdict.message);
  return fail("MissingAuthenticationTokenException", verdict.message, 403);
}

/**
 * @internal Reads a JSON-protocol AWS request to `POST /` (Step Functions, SSM, Secrets Manager): the key that signed
 * it, the action named by `X-Amz-Target` after `targetPrefix` (`AmazonSSM.`), and the JSON body; or the error AWS
 * sends for a refused signature or a body that is not JSON.
 */
export async function readJsonRequest(
  auth: AwsStandInAuth,
  request: StandInRequest,
  targetPrefix: string,
): Promise<
  | { ok: true; accessKeyId: string; action: string; input: Record<string, unknown> }
  | { ok: false; reply: StandInReply }
> {
  const signed = await checkJsonRequest(auth, request, 400);
  if (!signed.ok) return signed;
  const target = String(request.headers["x-amz-target"] ?? "");
  const action = target.startsWith(targetPrefix) ? target.slice(targetPrefix.length) : target;
  const body = await request.body();
  try {
    const input = body.length ? (JSON.parse(body.toString("utf8")) as Record<string, unknown>) : {};
    return { ok: true, accessKeyId: signed.accessKeyId, action, input };
  } catch {
    return {
      ok: false,
      reply: {
        status: 400,
        ...awsJsonErrorReply("SerializationException", "The request body is not valid JSON"),
      },
    };
  }
}

/**
 * A JSON error the way AWS JSON-protocol services send it. Use it with `failNext` to inject throttling.
 * @example
 * sm.failNext(2, 400, awsJsonErrorReply("ThrottlingException", "Rate exceeded"));
 */
export function awsJsonErrorReply(
  type: string,
  message: string,
): { headers: Record<string, string>; body: object } {
  return {
    headers: {
      "content-type": "application/x-amz-json-1.1",
      "x-amzn-errortype": type,
      "x-amzn-requestid": randomUUID(),
    },
    body: { __type: type, message },
  };
}

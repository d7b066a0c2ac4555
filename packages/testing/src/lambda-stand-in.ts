import { randomUUID } from "node:crypto";
import {
  type AwsServiceStandIn,
  type AwsServiceStandInOptions,
  awsJsonErrorReply,
  awsStandInAuth,
  checkJsonRequest,
  STAND_IN_ACCOUNT,
} from "./aws-sts.js";
import { type AwsKeyPair, randomKeyPair } from "./sigv4.js";
import { route, type StandInReply, startStandIn } from "./stand-in.js";

/** What a Lambda stand-in handler is given beside the event. */
export interface LambdaStandInContext {
  /** The function's name. */
  functionName: string;
  /** The version or alias invoked (`$LATEST` when none). */
  qualifier: string;
  /** `RequestResponse` or `Event`. */
  invocationType: string;
  /** The request id. */
  awsRequestId: string;
  /** Writes a line to the function's log (returned, base64, as `LogResult` with `LogType: Tail`). */
  log(line: string): void;
}

/**
 * A function run by the stand-in: it gets the parsed event (or the bytes, when they are not JSON) and returns the
 * answer (sent as JSON, or as they are for bytes). A thrown error is a function error: `FunctionError: Unhandled`
 * with `{ errorType, errorMessage }` (the error's `name` and `message`), as Lambda's Node runtime answers.
 */
export type LambdaStandInHandler = (event: unknown, context: LambdaStandInContext) => unknown;

/** One invocation the stand-in answered. */
export interface LambdaStandInInvocation {
  functionName: string;
  qualifier: string;
  invocationType: string;
  /** The payload, as sent. */
  payload: Buffer;
}

/** The options of `startLambdaStandIn`. */
export interface LambdaStandInOptions extends AwsServiceStandInOptions {
  /** The functions: name → handler. */
  functions?: Record<string, LambdaStandInHandler>;
}

/** A running Lambda stand-in. */
export interface LambdaStandIn extends AwsServiceStandIn {
  /** Adds or replaces a function. */
  setFunction(name: string, handler: LambdaStandInHandler): void;
  /** Every invocation answered, in order. */
  readonly invocations: LambdaStandInInvocation[];
  /** A function's ARN, as the stand-in spells it. */
  arnOf(name: string, qualifier?: string): string;
}

const ARN_RE = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:([^:]+)(?::([^:]+))?$/;

/**
 * Starts an AWS Lambda stand-in (`Invoke`, `ListFunctions`) running JS functions, and checking every request's SigV4
 * signature as Lambda does: an unknown key is `UnrecognizedClientException`, a wrong secret
 * `InvalidSignatureException`, a call the session policy or `authorize` refuses `AccessDeniedException`. Fault
 * injection as on every stand-in (`failNext(1, 429, awsJsonErrorReply("TooManyRequestsException", …))`).
 * @example
 * const lambda = await startLambdaStandIn({ functions: { double: (event) => (event as number) * 2 } });
 * await lambdaInvoke({ endpoint: lambda.url, credentials: lambda.keyPairs[0], functionName: "double", payload: 21 });
 */
export async function startLambdaStandIn(options: LambdaStandInOptions = {}): Promise<LambdaStandIn> {
  const keyPairs: AwsKeyPair[] = options.keyPairs ? [...options.keyPairs] : [randomKeyPair()];
  const region = options.region ?? "us-east-1";
  const auth = awsStandInAuth(keyPairs, options.authorize ?? (() => true), options.sts);
  const functions = new Map(Object.entries(options.functions ?? {}));
  const invocations: LambdaStandInInvocation[] = [];
  const arnOf = (name: string, qualifier?: string) =>
    `arn:aws:lambda:${region}:${STAND_IN_ACCOUNT}:function:${name}${qualifier ? `:${qualifier}` : ""}`;
  const error = (status: number, type: string, message: string): StandInReply => ({
    status,
    ...awsJsonErrorReply(type, message),
  });
  const json = (value: object): StandInReply => ({
    headers: { "content-type": "application/json", "x-amzn-requestid": randomUUID() },
    body: value,
  });

  async function run(
    handler: LambdaStandInHandler,
    payload: Buffer,
    context: Omit<LambdaStandInContext, "log">,
  ): Promise<{ body: Buffer; failed: boolean; log: string[] }> {
    const log: string[] = [];
    let event: unknown = payload;
    try {
      event = payload.length === 0 ? {} : JSON.parse(payload.toString("utf8"));
    } catch {}
    try {
      const out = await handler(event, { ...context, log: (line) => log.push(line) });
      const body =
        out instanceof Uint8Array ? Buffer.from(out) : Buffer.from(JSON.stringify(out ?? null), "utf8");
      return { body, failed: false, log };
    } catch (e) {
      const err = e as { name?: string; message?: string };
      const body = { errorType: err?.name ?? "Error", errorMessage: err?.message ?? String(e), trace: [] };
      return { body: Buffer.from(JSON.stringify(body)), failed: true, log };
    }
  }

  const standIn = await startStandIn(
    [
      route("POST", "/", async (request) => {
        if (await auth.isSts(request)) return auth.answerSts(request);
        return error(404, "UnknownOperationException", "Unknown operation");
      }),
      route("POST", "/2015-03-31/functions/:name/invocations", async (request) => {
        const signed = await checkJsonRequest(auth, request, 403);
        if (!signed.ok) return signed.reply;
        const raw = request.params.name ?? "";
        const fromArn = ARN_RE.exec(raw);
        const name = fromArn ? (fromArn[1] as string) : raw;
        const qualifier = request.url.searchParams.get("Qualifier") ?? fromArn?.[2] ?? undefined;
        const arn = arnOf(name, qualifier);
        if (!auth.allows(signed.accessKeyId, "lambda:InvokeFunction", arn, arn)) {
          return error(
            403,
            "AccessDeniedException",
            `User: ${signed.accessKeyId} is not authorized to perform: lambda:InvokeFunction on resource: ${arn} because no session policy allows the lambda:InvokeFunction action`,
          );
        }
        const handler = functions.get(name);
        if (!handler) return error(404, "ResourceNotFoundException", `Function not found: ${arn}`);
        const invocationType = String(request.headers["x-amz-invocation-type"] ?? "RequestResponse");
        const payload = await request.body();
        if (invocationType === "DryRun") return { status: 204 };
        invocations.push({ functionName: name, qualifier: qualifier ?? "$LATEST", invocationType, payload });
        const context = {
          functionName: name,
          qualifier: qualifier ?? "$LATEST",
          invocationType,
          awsRequestId: randomUUID(),
        };
        if (invocationType === "Event") {
          void run(handler, payload, context);
          return { status: 202, headers: { "x-amzn-requestid": context.awsRequestId } };
        }
        const result = await run(handler, payload, context);
        const headers: Record<string, string> = {
          "content-type": "application/json",
          "x-amzn-requestid": context.awsRequestId,
          "x-amz-executed-version": /^\d+$/.test(context.qualifier) ? context.qualifier : "$LATEST",
        };
        if (result.failed) headers["x-amz-function-error"] = "Unhandled";
        if (request.headers["x-amz-log-type"] === "Tail") {
          const text = `START RequestId: ${context.awsRequestId} Version: $LATEST\n${result.log.map((l) => `${l}\n`).join("")}END RequestId: ${context.awsRequestId}\n`;
          headers["x-amz-log-result"] = Buffer.from(text.slice(-4096)).toString("base64");
        }
        return { status: 200, headers, body: result.body };
      }),
      route("GET", /^\/2015-03-31\/functions\/?$/, async (request) => {
        const signed = await checkJsonRequest(auth, request, 403);
        if (!signed.ok) return signed.reply;
        if (!auth.allows(signed.accessKeyId, "lambda:ListFunctions", "*", "*")) {
          return error(
            403,
            "AccessDeniedException",
            `User: ${signed.accessKeyId} is not authorized to perform: lambda:ListFunctions`,
          );
        }
        const names = [...functions.keys()].sort();
        const start = Number(request.url.searchParams.get("Marker") ?? 0);
        const max = Number(request.url.searchParams.get("MaxItems") ?? 50);
        const page = names.slice(start, start + max);
        return json({
          Functions: page.map((name) => ({
            FunctionName: name,
            FunctionArn: arnOf(name),
            Runtime: "nodejs22.x",
            Version: "$LATEST",
            LastModified: new Date(0).toISOString(),
          })),
          ...(start + max < names.length ? { NextMarker: String(start + max) } : {}),
        });
      }),
    ],
    { name: "lambda" },
  );
  return {
    ...standIn,
    keyPairs,
    assumedRoles: auth.assumedRoles,
    invocations,
    setFunction: (name, handler) => {
      functions.set(name, handler);
    },
    arnOf,
  };
}

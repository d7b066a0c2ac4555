import type { InvokeCommandOutput } from "@aws-sdk/client-lambda";
import { mask, ServiceError, ValidationError } from "@tributary/auth";
import { task, taskContext } from "@tributary/flow";
import { toAwsError } from "./aws-errors.js";
import { functionResource, type LambdaConnectionOptions, lambdaConnection } from "./lambda-client.js";

/** Lambda's payload limits: 6 MB for a synchronous invoke, 256 KB for an asynchronous one. */
export const LAMBDA_PAYLOAD_LIMITS = { RequestResponse: 6 * 1024 * 1024, Event: 256 * 1024 } as const;

/** The options of `lambdaInvoke`. */
export interface LambdaInvokeOptions extends LambdaConnectionOptions {
  /** The function's name or ARN. */
  functionName: string;
  /** The event: any JSON value (sent as JSON), or bytes sent as they are. Default: none. */
  payload?: unknown;
  /**
   * `"RequestResponse"` (default) waits for the function's answer; `"Event"` resolves once Lambda has queued the
   * event (status 202); `"DryRun"` only checks that the call would be allowed (status 204).
   */
  invocationType?: "RequestResponse" | "Event" | "DryRun";
  /** A version number or alias to invoke. Default: the unqualified function (`$LATEST`). */
  qualifier?: string;
  /** Return the last 4 KB of the function's log, decoded and masked, as `logTail`. Default false. */
  logTail?: boolean;
  /**
   * When the function fails (`FunctionError` is `Unhandled` or `Handled`), throw a `ServiceError` with code
   * `FUNCTION_ERROR` (the default), or with `false` return the result with `functionError` set.
   */
  throwOnFunctionError?: boolean;
}

/** What `lambdaInvoke` returns. */
export interface LambdaInvokeResult {
  /** Lambda's HTTP status: 200 for a synchronous call, 202 for `Event`, 204 for `DryRun`. */
  statusCode: number;
  /** The function's answer: parsed when it is JSON, else the bytes; `undefined` when there is none. */
  payload: unknown;
  /** The version that ran. */
  executedVersion: string | undefined;
  /** The end of the function's log, decoded and masked (with `logTail: true`). */
  logTail: string | undefined;
  /** `Unhandled` or `Handled` when the function failed (only with `throwOnFunctionError: false`). */
  functionError: string | undefined;
}

function encodePayload(payload: unknown): Uint8Array | undefined {
  if (payload === undefined) return undefined;
  if (payload instanceof Uint8Array) return payload;
  let text: string | undefined;
  try {
    text = JSON.stringify(payload);
  } catch (error) {
    throw new ValidationError("payload", `cannot be sent as JSON (${(error as Error).message})`);
  }
  if (text === undefined) throw new ValidationError("payload", "must be a JSON value or bytes");
  return Buffer.from(text, "utf8");
}

function decodePayload(bytes: Uint8Array | null | undefined): unknown {
  if (!bytes || bytes.length === 0) return undefined;
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    return JSON.parse(buffer.toString("utf8"));
  } catch {
    return buffer;
  }
}

/**
 * Invokes a Lambda function with the resolved AWS credentials. The payload is sent as JSON (or as bytes), and the
 * answer parsed when it is JSON. A function that fails is a `ServiceError` with code `FUNCTION_ERROR`, its `reason`
 * the function's `errorType` and its message the function's `errorMessage` (masked). A payload past Lambda's limits
 * is a `ValidationError` before any call. With `leastPrivilege` and a role, the credentials allow only
 * `lambda:InvokeFunction` on this function (and qualifier).
 * @example
 * const { payload } = await lambdaInvoke({ functionName: "resize", payload: { key: "a.png" } });
 */
export const lambdaInvoke = task(
  { name: "lambdaInvoke" },
  async (options: LambdaInvokeOptions): Promise<LambdaInvokeResult> => {
    const resource = functionResource(options?.functionName, options.qualifier, options.region);
    const invocationType = options.invocationType ?? "RequestResponse";
    if (!["RequestResponse", "Event", "DryRun"].includes(invocationType)) {
      throw new ValidationError("invocationType", "must be RequestResponse, Event or DryRun");
    }
    const body = encodePayload(options.payload);
    const limit =
      invocationType === "Event" ? LAMBDA_PAYLOAD_LIMITS.Event : LAMBDA_PAYLOAD_LIMITS.RequestResponse;
    if (body && body.byteLength > limit) {
      throw new ValidationError(
        "payload",
        `is ${body.byteLength} bytes, past Lambda's limit of ${limit} bytes for ${invocationType === "Event" ? "an asynchronous" : "a synchronous"} invoke: pass a reference (an S3 key) instead`,
      );
    }
    const { client, source, sdk } = await lambdaConnection(options, [
      { actions: ["lambda:InvokeFunction"], resources: [resource] },
    ]);
    const signal = taskContext()?.signal;
    const what = `invoking ${options.functionName}${options.qualifier ? `:${options.qualifier}` : ""}`;
    let out: InvokeCommandOutput;
    try {
      out = await client.send(
        new sdk.InvokeCommand({
          FunctionName: options.functionName,
          InvocationType: invocationType,
          ...(body ? { Payload: body } : {}),
          ...(options.qualifier ? { Qualifier: options.qualifier } : {}),
          ...(options.logTail ? { LogType: "Tail" } : {}),
        }),
        signal ? { abortSignal: signal } : {},
      );
    } catch (error) {
      throw toAwsError(error, "Lambda", source, what, signal);
    }
    const payload = decodePayload(out.Payload);
    const result: LambdaInvokeResult = {
      statusCode: out.StatusCode ?? 200,
      payload,
      executedVersion: out.ExecutedVersion,
      logTail: out.LogResult ? mask(Buffer.from(out.LogResult, "base64").toString("utf8")) : undefined,
      functionError: out.FunctionError,
    };
    if (out.FunctionError && options.throwOnFunctionError !== false) {
      const failure = (payload ?? {}) as { errorType?: unknown; errorMessage?: unknown };
      const type = typeof failure.errorType === "string" ? failure.errorType : out.FunctionError;
      const message = typeof failure.errorMessage === "string" ? mask(failure.errorMessage) : "no message";
      throw new ServiceError(
        "FUNCTION_ERROR",
        "Lambda",
        `${what}: the function failed (${out.FunctionError}): ${type}: ${message}`,
        result.statusCode,
        {
          reason: type,
        },
      );
    }
    return result;
  },
);

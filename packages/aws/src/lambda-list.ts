import { ValidationError } from "@tributary/auth";
import { task, taskContext } from "@tributary/flow";
import { toAwsError } from "./aws-errors.js";
import { type LambdaConnectionOptions, lambdaConnection } from "./lambda-client.js";

/** The options of `lambdaList`. */
export interface LambdaListOptions extends LambdaConnectionOptions {
  /** Stop after this many functions. Default: all. */
  limit?: number;
}

/** One function in a listing. */
export interface LambdaFunctionInfo {
  /** The function's name. */
  name: string;
  /** Its ARN. */
  arn: string;
  /** Its runtime, such as `nodejs22.x` (none for container images). */
  runtime: string | undefined;
  /** The version listed (`$LATEST`). */
  version: string | undefined;
  /** When it was last changed (as Lambda writes it). */
  lastModified: string | undefined;
}

/** What `lambdaList` returns. */
export interface LambdaListResult {
  functions: LambdaFunctionInfo[];
  /** True when `limit` cut the listing short. */
  truncated: boolean;
}

/**
 * Lists the account's Lambda functions in the region, following Lambda's pages. With `leastPrivilege` and a role,
 * the credentials allow only `lambda:ListFunctions` (which IAM grants on `*` only).
 * @example
 * const { functions } = await lambdaList({ region: "eu-west-1" });
 */
export const lambdaList = task(
  { name: "lambdaList" },
  async (options: LambdaListOptions = {}): Promise<LambdaListResult> => {
    const limit = options.limit;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
      throw new ValidationError("limit", "must be a whole number of at least 1");
    }
    const { client, source, sdk } = await lambdaConnection(options, [
      { actions: ["lambda:ListFunctions"], resources: ["*"] },
    ]);
    const signal = taskContext()?.signal;
    const functions: LambdaFunctionInfo[] = [];
    let marker: string | undefined;
    try {
      do {
        const page = await client.send(
          new sdk.ListFunctionsCommand({
            ...(marker ? { Marker: marker } : {}),
            ...(limit !== undefined ? { MaxItems: Math.min(50, limit - functions.length) } : {}),
          }),
          signal ? { abortSignal: signal } : {},
        );
        for (const f of page.Functions ?? []) {
          functions.push({
            name: f.FunctionName ?? "",
            arn: f.FunctionArn ?? "",
            runtime: f.Runtime,
            version: f.Version,
            lastModified: f.LastModified,
          });
        }
        marker = page.NextMarker;
      } while (marker && (limit === undefined || functions.length < limit));
    } catch (error) {
      throw toAwsError(error, "Lambda", source, "listing functions", signal);
    }
    return { functions, truncated: marker !== undefined && limit !== undefined };
  },
);

import { randomUUID } from "node:crypto";
import { TributaryError } from "@tributary/auth";
import type { RunReport } from "@tributary/flow";
import { EXIT_CODES } from "./cli-io.js";
import type { CommandContext } from "./command-context.js";
import { type ParsedOptions, parseOptions } from "./command-options.js";
import { runLeastPrivilege, trustPolicy } from "./config-file.js";
import { formatRunReport } from "./format-report.js";
import { listOption, stringOption } from "./option-values.js";
import { UsageError } from "./parse-command-args.js";
import { QUEUE_RUN_OPTIONS, runOnQueueIfAsked } from "./run-on-queue.js";
import { RUN_USAGE } from "./usage.js";

/** The run-id rule of @tributary/agent's `RUN_ID_PATTERN` (not imported: the queue client loads only for queues). */
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

/**
 * The report of a run whose deployment could not be pulled (or was not trusted): it failed before its flow started.
 * `tributary run --json` prints it, and an in-process agent reports it, so both isolations report the same error.
 */
export function pullFailure(flow: string, runId: string, started: number, error: unknown): RunReport {
  const e = error as { name?: unknown; code?: unknown; message?: unknown };
  return {
    flow,
    runId,
    state: "failed",
    start: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    error: {
      name: typeof e?.name === "string" ? e.name : "Error",
      ...(typeof e?.code === "string" ? { code: e.code } : {}),
      message: error instanceof Error ? error.message : String(error),
      ...(TributaryError.isInstance(error) ? { retryable: error.retryable } : {}),
    },
    tasks: [],
    hookErrors: [],
  };
}

/** The note `run` and `agent start` print once when no trust policy is given. */
export const UNVERIFIED_NOTE =
  "note: deployments are not verified (no --trust-key and no trustedKeys in a config file): whoever can write to the storage decides what runs with these secrets";

/**
 * The trust policy of a run in this process (`--trust-key`, else the config file's `trustedKeys`), or `undefined`
 * after saying once that deployments are not verified. With `--trust-key` and `--unverified` both: a usage error.
 */
async function runTrust(parsed: ParsedOptions, ctx: CommandContext): Promise<readonly string[] | undefined> {
  const policy = await trustPolicy(listOption(parsed, "trust-key"), stringOption(parsed, "config"));
  if (policy.keys === undefined) ctx.output.err(UNVERIFIED_NOTE);
  return policy.keys;
}

/**
 * `tributary run ADDRESS [--params JSON] [--run-id ID] [--json]`: pulls the deployment with its storage's
 * secrets and runs it in this process. Exit 0 only when the run completed.
 */
export async function runCommand(args: readonly string[], ctx: CommandContext): Promise<number> {
  const parsed = parseOptions(
    args,
    {
      params: "string",
      "run-id": "string",
      json: "boolean",
      config: "string",
      "least-privilege": "string",
      "trust-key": "list",
      unverified: "boolean",
      ...QUEUE_RUN_OPTIONS,
    },
    RUN_USAGE,
  );
  if (parsed.help) {
    ctx.output.out(RUN_USAGE);
    return EXIT_CODES.ok;
  }
  const [address, ...extra] = parsed.positionals;
  if (address === undefined) throw new UsageError("missing ADDRESS", RUN_USAGE);
  if (extra.length > 0) throw new UsageError("give one ADDRESS", RUN_USAGE);
  if (parsed.values.unverified === true && "trust-key" in parsed.values) {
    throw new UsageError("give --trust-key or --unverified, not both", RUN_USAGE);
  }
  const rawParams = parsed.values.params;
  let params: unknown;
  if (typeof rawParams === "string") {
    try {
      params = JSON.parse(rawParams);
    } catch {
      // The text is not repeated: it may hold anything the user typed.
      throw new UsageError(`--params must be JSON, such as '{"day":"2026-11-25"}'`, RUN_USAGE);
    }
  }
  const givenId = parsed.values["run-id"];
  if (typeof givenId === "string" && !RUN_ID.test(givenId)) {
    throw new UsageError("--run-id takes letters, digits, '.', '_', '-', ':' and '@' (up to 128)", RUN_USAGE);
  }
  const json = parsed.values.json === true;
  const runDefault = ["config", "least-privilege", "trust-key", "unverified"].find((o) => o in parsed.values);
  if (runDefault && "queue" in parsed.values) {
    throw new UsageError(
      `--${runDefault} is for runs in this process; a queued run takes its agent's (tributary agent start --config FILE, --trust-key FILE)`,
      RUN_USAGE,
    );
  }
  const queued = await runOnQueueIfAsked(
    parsed,
    { address, params, runId: typeof givenId === "string" ? givenId : undefined, json },
    ctx,
  );
  if (queued !== undefined) return queued;
  const leastPrivilege = await runLeastPrivilege(
    stringOption(parsed, "least-privilege"),
    stringOption(parsed, "config"),
    RUN_USAGE,
  );
  const trust = parsed.values.unverified === true ? undefined : await runTrust(parsed, ctx);
  const runId = typeof givenId === "string" ? givenId : randomUUID();
  const started = Date.now();
  const { parseDeploymentAddress, runDeployment, storageKindsFor } = await import("@tributary/flow");
  const kinds = await storageKindsFor(address);
  const controller = new AbortController();
  const stop = () => controller.abort(new Error("interrupted"));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  let report: RunReport;
  try {
    report = await runDeployment(address, {
      params,
      runId,
      kinds,
      signal: controller.signal,
      ...(leastPrivilege !== undefined ? { leastPrivilege } : {}),
      ...(trust !== undefined ? { trustedKeys: trust } : {}),
    });
  } catch (error) {
    if (UsageError.isInstance(error)) throw error;
    let flow = "";
    try {
      flow = parseDeploymentAddress(address, kinds).name;
    } catch {
      // the address itself was refused: the report names no flow
    }
    if (json) ctx.output.json(pullFailure(flow, runId, started, error));
    ctx.output.err(`error: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT_CODES.failure;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
  if (json) ctx.output.json(report);
  else ctx.output.out(formatRunReport(report));
  return report.state === "completed" ? EXIT_CODES.ok : EXIT_CODES.failure;
}

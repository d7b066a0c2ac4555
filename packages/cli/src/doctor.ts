import { statSync } from "node:fs";
import { localStore, SecretStoreError } from "@tributary/auth";
import { EXIT_CODES } from "./cli-io.js";
import type { CommandContext } from "./command-context.js";
import { checkIdentities, formatIdentityChecks, type IdentityCheck } from "./doctor-check.js";
import { formatReports, reportToJson } from "./format-report.js";
import { inspectSecret, namesToReport, type SecretStatus } from "./inspect-secret.js";
import { parseCommandArgs, UsageError } from "./parse-command-args.js";
import { DOCTOR_USAGE } from "./usage.js";

/** The health of the local store file, as `doctor` reports it. */
export interface StoreHealth {
  /** The store file. */
  path: string;
  /** `ok`, `missing` (nothing stored yet: fine) or `problem` (another user's, unsafe permissions, corrupt, unreadable). */
  status: "ok" | "missing" | "problem";
  /** The file's permission bits in octal, such as `"600"`. */
  mode?: string;
  /** How many names it holds. */
  count?: number;
  /** The problem: a `SecretStoreError` code and message that says how to fix it. */
  error?: { code: string; message: string };
}

/** Checks the local store file and its folder: owned by the user, private (0600 file, folder not writable by others), parseable. */
export function checkStore(): StoreHealth {
  const store = localStore();
  let mode: string | undefined;
  let missing = false;
  try {
    mode = (statSync(store.path).mode & 0o777).toString(8);
  } catch (error) {
    missing = (error as NodeJS.ErrnoException).code === "ENOENT";
  }
  try {
    // Owner and mode of the file and its folder, even before a file exists there.
    store.check();
    if (missing) return { path: store.path, status: "missing" };
    const count = store.names().length;
    return { path: store.path, status: "ok", ...(mode ? { mode } : {}), count };
  } catch (error) {
    if (!SecretStoreError.isInstance(error)) throw error;
    return {
      path: store.path,
      status: "problem",
      ...(mode ? { mode } : {}),
      error: { code: error.code, message: error.message },
    };
  }
}

function describeStore(health: StoreHealth): string {
  if (health.status === "missing") {
    return `Local store: ${health.path}\n  not created yet (tributary secrets set NAME creates it)`;
  }
  if (health.status === "ok") {
    return `Local store: ${health.path}\n  ok: ${health.count} secret${health.count === 1 ? "" : "s"}, mode ${health.mode}`;
  }
  return `Local store: ${health.path}\n  PROBLEM ${health.error?.code}: ${health.error?.message}`;
}

/** `tributary doctor [--json]`: which credentials are used, and are they valid. */
export async function doctor(args: readonly string[], ctx: CommandContext): Promise<number> {
  const parsed = parseCommandArgs(args, { json: true }, DOCTOR_USAGE);
  if (parsed.help) {
    ctx.output.out(DOCTOR_USAGE);
    return EXIT_CODES.ok;
  }
  const check = parsed.unknown.includes("--check");
  const unknown = parsed.unknown.filter((o) => o !== "--check");
  if (unknown.length > 0 || (check && parsed.unknownHadValue))
    throw new UsageError(`unknown option ${unknown.join(", ") || "value for --check"}`, DOCTOR_USAGE);
  if (parsed.positionals.length > 0) throw new UsageError("doctor takes no arguments", DOCTOR_USAGE);

  const health = checkStore();
  const store = localStore();
  const { names } = namesToReport(store);
  const reports = [];
  for (const name of names) reports.push(await inspectSecret(name, store, { defaultChain: true }));
  const summary: Record<SecretStatus, number> = {
    ok: 0,
    "default-chain": 0,
    missing: 0,
    invalid: 0,
    error: 0,
  };
  for (const r of reports) summary[r.status]++;
  const identities: IdentityCheck[] = check
    ? await checkIdentities(
        reports.filter((r) => r.status === "ok" || r.status === "default-chain").map((r) => r.name),
      )
    : [];
  const rejected = identities.some((c) => c.status === "rejected");
  const failed = summary.invalid > 0 || summary.error > 0 || health.status === "problem" || rejected;
  const exitCode = failed ? EXIT_CODES.failure : EXIT_CODES.ok;

  if (parsed.json) {
    ctx.output.json({
      ok: !failed,
      exitCode,
      store: health,
      secrets: reports.map(reportToJson),
      summary,
      ...(check ? { identities } : {}),
    });
    return exitCode;
  }
  const counts = [
    `${summary.ok} ok`,
    ...(summary["default-chain"] ? [`${summary["default-chain"]} left to the SDK's default chain`] : []),
    `${summary.missing} missing`,
    `${summary.invalid} invalid`,
    ...(summary.error ? [`${summary.error} could not be checked`] : []),
  ];
  const verdict = failed
    ? `Problems found: fix what is marked INVALID, ERROR${check ? ", REJECTED" : ""} or PROBLEM above (values are never shown).`
    : summary.missing > 0
      ? "No problems. Missing secrets are fine until a task needs them."
      : "No problems.";
  ctx.output.out(
    `${describeStore(health)}\n\n${formatReports(reports, health.error ? [health.error.message] : [])}\n\n${check ? `${formatIdentityChecks(identities)}\n\n` : ""}${reports.length} secret names: ${counts.join(", ")}.\n${verdict}`,
  );
  return exitCode;
}

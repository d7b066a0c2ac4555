import { statSync } from "node:fs";
import { localStore, SecretStoreError, withSecrets } from "@tributary/auth";
import { EXIT_CODES } from "./cli-io.js";
import type { CommandContext } from "./command-context.js";
import { CONFIG_FILE_NAMES, loadConfig, type TributaryConfig } from "./config-file.js";
import { checkIdentities, formatIdentityChecks, type IdentityCheck } from "./doctor-check.js";
import { formatReports, reportToJson } from "./format-report.js";
import { inspectSecret, namesToReport, type SecretReport, type SecretStatus } from "./inspect-secret.js";
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

/** Where doctor's backends came from, and what it cannot see. */
function describeScope(config: TributaryConfig | undefined): string {
  const backends = config
    ? `Backends (from ${config.path}): ${config.backends.map((b) => b.describe()).join(", ") || "none"}; asked for every name.`
    : `Backends: none known. doctor reads ${CONFIG_FILE_NAMES.join(", ")} in this folder, or --config FILE; backends a flow sets in code (configureBackends) are invisible to it.`;
  return `${backends}
Not visible to doctor: values given to a run (flow.run({ secrets }), withSecrets()); they win over everything above.`;
}

/** `tributary doctor [--json] [--strict] [--config FILE]`: which credentials are used, and are they valid. */
export async function doctor(args: readonly string[], ctx: CommandContext): Promise<number> {
  const parsed = parseCommandArgs(args, { json: true, strict: true, config: true }, DOCTOR_USAGE);
  if (parsed.help) {
    ctx.output.out(DOCTOR_USAGE);
    return EXIT_CODES.ok;
  }
  const check = parsed.unknown.includes("--check");
  const unknown = parsed.unknown.filter((o) => o !== "--check");
  if (unknown.length > 0 || (check && parsed.unknownHadValue))
    throw new UsageError(`unknown option ${unknown.join(", ") || "value for --check"}`, DOCTOR_USAGE);
  if (parsed.positionals.length > 0) throw new UsageError("doctor takes no arguments", DOCTOR_USAGE);

  const config = await loadConfig(parsed.config);
  const health = checkStore();
  const store = localStore();
  const { names } = namesToReport(store);
  const reports: SecretReport[] = [];
  const inspect = async () => {
    for (const name of names) reports.push(await inspectSecret(name, store, { defaultChain: true }));
  };
  // With a config file, every name is asked of its backends, as a run that declares it would.
  if (config) await withSecrets({}, inspect, { backends: config.backends, declare: names });
  else await inspect();
  const summary: Record<SecretStatus, number> = {
    ok: 0,
    "default-chain": 0,
    missing: 0,
    invalid: 0,
    error: 0,
  };
  for (const r of reports) summary[r.status]++;
  const warnings = reports
    .filter((r) => r.didYouMean)
    .map((r) => `${r.name} is not a registered name: did you mean ${r.didYouMean}?`);
  const identities: IdentityCheck[] = check
    ? await checkIdentities(
        reports.filter((r) => r.status === "ok" || r.status === "default-chain").map((r) => r.name),
      )
    : [];
  const rejected = identities.some((c) => c.status === "rejected");
  const failed =
    summary.invalid > 0 ||
    summary.error > 0 ||
    health.status === "problem" ||
    rejected ||
    (parsed.strict && warnings.length > 0);
  const exitCode = failed ? EXIT_CODES.failure : EXIT_CODES.ok;

  if (parsed.json) {
    ctx.output.json({
      ok: !failed,
      exitCode,
      store: health,
      config: config ? { path: config.path, backends: config.backends.map((b) => b.describe()) } : null,
      secrets: reports.map(reportToJson),
      warnings,
      summary,
      ...(check ? { identities } : {}),
    });
    return exitCode;
  }
  const counts = [
    `${summary.ok} ok`,
    ...(summary["default-chain"] ? [`${summary["default-chain"]} not verified`] : []),
    `${summary.missing} missing`,
    `${summary.invalid} invalid`,
    ...(summary.error ? [`${summary.error} could not be checked`] : []),
    ...(warnings.length ? [`${warnings.length} misspelled`] : []),
  ];
  const notes = [
    ...(summary.missing > 0 ? ["Missing secrets fail the flows that need them."] : []),
    ...(summary["default-chain"] > 0
      ? ["Unverified credentials depend on a metadata endpoint that doctor does not contact."]
      : []),
    ...(warnings.length > 0
      ? [`Check the names marked WARNING${parsed.strict ? "" : " (--strict makes them fail)"}.`]
      : []),
  ];
  const verdict = failed
    ? `Problems found: fix what is marked INVALID, ERROR${check ? ", REJECTED" : ""}, PROBLEM or WARNING above (values are never shown).`
    : notes.length > 0
      ? `Nothing set is invalid. ${notes.join(" ")}`
      : "No problems.";
  ctx.output.out(
    `${describeStore(health)}\n\n${formatReports(reports, health.error ? [health.error.message] : [])}\n\n${check ? `${formatIdentityChecks(identities)}\n\n` : ""}${describeScope(config)}\n\n${reports.length} secret names: ${counts.join(", ")}.\n${verdict}`,
  );
  return exitCode;
}

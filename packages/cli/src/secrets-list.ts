import { localStore } from "@tributary/auth";
import { EXIT_CODES } from "./cli-io.js";
import type { CommandContext } from "./command-context.js";
import { formatReports, reportToJson } from "./format-report.js";
import { inspectSecret, namesToReport } from "./inspect-secret.js";
import { parseCommandArgs, UsageError } from "./parse-command-args.js";
import { LIST_USAGE } from "./usage.js";

/** `tributary secrets list [--json]`: every name, where it resolves from, valid or not. */
export async function secretsList(args: readonly string[], ctx: CommandContext): Promise<number> {
  const parsed = parseCommandArgs(args, { json: true }, LIST_USAGE);
  if (parsed.help) {
    ctx.output.out(LIST_USAGE);
    return EXIT_CODES.ok;
  }
  if (parsed.unknown.length > 0)
    throw new UsageError(`unknown option ${parsed.unknown.join(", ")}`, LIST_USAGE);
  if (parsed.positionals.length > 0) throw new UsageError("secrets list takes no arguments", LIST_USAGE);

  const store = localStore();
  const { names, storeError } = namesToReport(store);
  const reports = [];
  for (const name of names) reports.push(await inspectSecret(name, store, { defaultChain: false }));
  const exitCode = storeError ? EXIT_CODES.failure : EXIT_CODES.ok;
  if (parsed.json) {
    ctx.output.json({
      ok: !storeError,
      store: {
        path: store.path,
        ...(storeError ? { error: { code: storeError.code, message: storeError.message } } : {}),
      },
      secrets: reports.map(reportToJson),
    });
  } else {
    ctx.output.out(formatReports(reports));
  }
  if (storeError) ctx.output.err(`error: ${storeError.message}`);
  return exitCode;
}

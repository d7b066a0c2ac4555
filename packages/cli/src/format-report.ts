import { describeSource } from "@tributary/auth";
import type { RunReport } from "@tributary/flow";
import type { SecretReport } from "./inspect-secret.js";

const STATUS_TEXT: Record<SecretReport["status"], string> = {
  ok: "ok",
  "default-chain": "unverified",
  missing: "missing",
  invalid: "INVALID",
  error: "ERROR",
};

/**
 * The table of `secrets list` and `doctor`: one row per name, indented detail lines under it. An error message
 * (a broken store fails every name it holds) is printed in full once; `alreadyShown` lists messages printed before.
 */
export function formatReports(
  reports: readonly SecretReport[],
  alreadyShown: readonly string[] = [],
): string {
  const shown = new Set(alreadyShown);
  const nameWidth = Math.max(4, ...reports.map((r) => r.name.length)) + 2;
  const statusWidth = Math.max(6, ...Object.values(STATUS_TEXT).map((s) => s.length)) + 2;
  const indent = " ".repeat(nameWidth + statusWidth);
  const lines = [`${"NAME".padEnd(nameWidth)}${"STATUS".padEnd(statusWidth)}SOURCE`];
  for (const r of reports) {
    const where =
      r.status === "default-chain"
        ? `not set in Tributary; ${r.source?.detail ?? "the SDK's default chain"}: not contacted by this check`
        : r.status === "missing"
          ? "not set"
          : r.source
            ? describeSource(r.source)
            : "-";
    lines.push(`${r.name.padEnd(nameWidth)}${STATUS_TEXT[r.status].padEnd(statusWidth)}${where}`);
    if (r.status === "invalid") {
      for (const issue of r.issues ?? [])
        lines.push(`${indent}- ${issue.field || "(value)"}: ${issue.message}`);
    }
    if (r.status === "error" && r.error) {
      const seen = shown.has(r.error.message);
      shown.add(r.error.message);
      lines.push(`${indent}${r.error.code}${seen ? " (see above)" : `: ${r.error.message}`}`);
    }
    for (const s of r.shadowed ?? []) lines.push(`${indent}also set in ${describeSource(s)}: not used`);
    for (const l of r.looked ?? []) lines.push(`${indent}default chain, ${l.place}: ${l.outcome}`);
    if (r.status === "missing" && r.howToSet)
      lines.push(`${indent}set it with: ${r.howToSet.join("  or  ")}`);
    if (r.didYouMean) lines.push(`${indent}WARNING: not a registered name: did you mean ${r.didYouMean}?`);
    else if (!r.registered && r.status !== "missing")
      lines.push(`${indent}unregistered name: no schema checks it`);
  }
  return lines.join("\n");
}

/** The JSON shape of a report: the same fields, `source` as `{ kind, detail }` or `null`. */
export function reportToJson(report: SecretReport): Record<string, unknown> {
  return {
    name: report.name,
    registered: report.registered,
    ...(report.description ? { description: report.description } : {}),
    status: report.status,
    source: report.source ?? null,
    ...(report.issues ? { issues: report.issues } : {}),
    ...(report.error ? { error: report.error } : {}),
    shadowed: report.shadowed ?? [],
    ...(report.howToSet ? { howToSet: report.howToSet } : {}),
    ...(report.looked ? { looked: report.looked } : {}),
    ...(report.didYouMean ? { didYouMean: report.didYouMean } : {}),
  };
}

/** A short text account of a run, for a terminal. */
export function formatRunReport(report: RunReport): string {
  const lines = [`Flow run ${report.flow} (${report.runId}): ${report.state} in ${report.durationMs} ms`];
  for (const t of report.tasks) {
    lines.push(`  ${t.id}. ${t.name}: ${t.state}${t.attempts > 1 ? ` after ${t.attempts} attempts` : ""}`);
  }
  if (report.error) lines.push(`Error: ${report.error.name}: ${report.error.message}`);
  for (const h of report.hookErrors) lines.push(`Hook ${h.hook} failed: ${h.error.message}`);
  if (report.result !== undefined) lines.push(`Result: ${JSON.stringify(report.result)}`);
  return lines.join("\n");
}

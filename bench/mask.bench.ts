// Issue 10: mask() of a 200-character line with 10, 1,000 and 100,000 registered values, beside the masker it
// replaced (one regular expression of every value, copied below as the baseline) in the same run.
import { randomBytes } from "node:crypto";
import { mask, registerSecretValue, resetMasker } from "@tributary/auth";
import { fmt } from "./stats.ts";

/** The masker before issue 10, as it was: one alternation of every registered value and its escaped forms. */
class RegexMaskerBaseline {
  private readonly values = new Set<string>();
  private pattern: RegExp | undefined;

  register(value: string): void {
    const forms = [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)];
    for (const form of forms) if (form.length >= 4) this.values.add(form);
    this.pattern = undefined;
  }

  mask(text: string): string {
    if (!this.pattern) {
      const sorted = [...this.values].sort((a, b) => b.length - a.length);
      this.pattern = new RegExp(sorted.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "g");
    }
    return text.replace(this.pattern, "[redacted]");
  }
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
function randomText(length: number): string {
  const bytes = randomBytes(length);
  let out = "";
  for (const byte of bytes) out += alphabet[byte % alphabet.length];
  return out;
}

/** Secrets of the shapes users register: tokens with shared prefixes, AWS keys, webhook URLs, hex. */
function secretOfKind(i: number): string {
  switch (i % 4) {
    case 0:
      return `ghp_${randomText(36)}`;
    case 1:
      return `xoxb-${randomText(10)}-${randomText(24)}`;
    case 2:
      return randomText(40);
    default:
      return `https://hooks.slack.com/services/T0000/B0000/${randomText(24)}`;
  }
}

/**
 * CPU µs per call of a synchronous function: the fastest of `rounds` batches, after a warm-up long enough for the
 * optimizing compiler. CPU time (`process.cpuUsage`), not wall time, and the fastest batch: on a shared machine the
 * wall clock and the other batches measure the neighbours.
 */
function microsPerSyncCall(fn: () => unknown, batch = 5000, rounds = 15): number {
  for (let i = 0; i < batch * 4; i++) fn();
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    const start = process.cpuUsage();
    for (let i = 0; i < batch; i++) fn();
    const used = process.cpuUsage(start);
    best = Math.min(best, (used.user + used.system) / batch);
  }
  return best;
}

function lineOf200(secret: string | undefined): string {
  const words =
    "Uploaded reports/2026-11-29/part-0007.csv to bucket nightly-exports in 184 ms (attempt 1, task upload) ";
  const base = secret ? `${words}token=${secret} ` : words;
  return (base + words + words).slice(0, 200);
}

export default async function bench(): Promise<Record<string, string>> {
  const figures: Record<string, string> = {};
  for (const count of [10, 1_000, 100_000]) {
    resetMasker();
    const baseline = new RegexMaskerBaseline();
    const secrets: string[] = [];
    for (let i = 0; i < count; i++) {
      const secret = secretOfKind(i);
      secrets.push(secret);
      registerSecretValue(secret, { scope: "process" });
      baseline.register(secret);
    }
    const clean = lineOf200(undefined);
    const withSecret = lineOf200(secrets[Math.floor(count / 2)]);
    if (!mask(withSecret).includes("[redacted]") || mask(clean) !== clean) {
      throw new Error("mask() does not mask the benchmark line as expected");
    }
    const goal = count === 1_000 ? " (goal ≤ 2 µs)" : count === 100_000 ? " (goal ≤ 5 µs)" : "";
    const label = `${count.toLocaleString("en")} values`;
    figures[`mask(), no secret in line, ${label}${goal}`] = fmt(
      microsPerSyncCall(() => mask(clean)),
      "µs",
    );
    figures[`mask(), one secret in line, ${label}${goal}`] = fmt(
      microsPerSyncCall(() => mask(withSecret)),
      "µs",
    );
    let old: string;
    try {
      baseline.mask(clean);
      const started = performance.now();
      baseline.mask(withSecret);
      const firstMs = performance.now() - started;
      old = `${fmt(
        microsPerSyncCall(() => baseline.mask(withSecret), count > 10_000 ? 20 : 500, 7),
        "µs",
      )} (first call ${fmt(firstMs, "ms", 1)})`;
    } catch (error) {
      old = `throws ${(error as Error).name}: ${(error as Error).message.slice(0, 40)}…`;
    }
    figures[`baseline regex masker, one secret in line, ${label}`] = old;
  }
  resetMasker();
  return figures;
}

// Issue 10: mask() of a 200-character line with 10, 1,000 and 100,000 registered values, beside the masker it
// replaced (one regular expression of every value, copied below as the baseline) in the same run.
// Issue 23: 1,000 structured credentials registered by their secret fields only (registerSecret), beside the same
// credentials registered whole (every text field, as before issue 23) in the same run.
import { randomBytes } from "node:crypto";
import { mask, maskerStats, registerSecret, registerSecretValue, resetMasker } from "@tributary/auth";
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

/** A credential of each structured default name, with its non-secret fields as users fill them in. */
function credentialOfKind(i: number): [string, Record<string, string>] {
  switch (i % 3) {
    case 0:
      return [
        "AWS_CREDENTIALS",
        {
          ACCESS_KEY: `AKID${randomText(16)}`,
          SECRET_ACCESS_KEY: randomText(40),
          REGION: ["us-east-1", "eu-west-1", "ap-south-1"][i % 3] as string,
          ROLE_ARN: `arn:aws:iam::123456789012:role/etl-${i}`,
        },
      ];
    case 1:
      return [
        "GCP_CREDENTIALS",
        {
          type: "service_account",
          project_id: "nightly-exports",
          private_key_id: randomText(40),
          private_key: `-----BEGIN PRIVATE KEY-----\n${randomText(1200)}\n-----END PRIVATE KEY-----\n`,
          client_email: `etl-${i}@nightly-exports.iam.gserviceaccount.com`,
          client_id: String(100000000000 + i),
          token_uri: "https://oauth2.googleapis.com/token",
        },
      ];
    default:
      return [
        "GITHUB_APP_CREDENTIALS",
        { APP_ID: String(100000 + i), INSTALLATION_ID: String(20000000 + i), PRIVATE_KEY: randomText(1600) },
      ];
  }
}

/** A 200-character line naming a region, a project and an account, as a task's log says them. */
function credentialLine(secret: string | undefined): string {
  const words =
    "Copied nightly-exports/2026-11-29/part-0007.csv to us-east-1 as etl-3@nightly-exports.iam.gserviceaccount.com ";
  return ((secret ? `${words}key=${secret} ` : words) + words + words).slice(0, 200);
}

/** mask() with 1,000 structured credentials registered by their secret fields, and registered whole. */
function structuredFigures(figures: Record<string, string>): void {
  const credentials = Array.from({ length: 1_000 }, (_, i) => credentialOfKind(i));
  const secret = credentials[501]?.[1].SECRET_ACCESS_KEY as string; // 501 % 3 === 0: an AWS key pair
  for (const [label, register] of [
    [
      "secret fields only",
      (name: string, value: object) => registerSecret(name, value, { scope: "process" }),
    ],
    [
      "every field, before issue 23",
      (_: string, value: object) => registerSecretValue(value, { scope: "process" }),
    ],
  ] as const) {
    resetMasker();
    for (const [name, value] of credentials) register(name, value);
    const clean = credentialLine(undefined);
    const withSecret = credentialLine(secret);
    if (!mask(withSecret).includes("[redacted]")) throw new Error("mask() does not mask the credential line");
    const key = `1,000 credentials, ${label}`;
    figures[`${key}: forms indexed`] = String(maskerStats().forms);
    figures[`${key}: mask(), no secret in line (goal ≤ 2 µs)`] = fmt(
      microsPerSyncCall(() => mask(clean)),
      "µs",
    );
    figures[`${key}: mask(), one secret in line (goal ≤ 2 µs)`] = fmt(
      microsPerSyncCall(() => mask(withSecret)),
      "µs",
    );
  }
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
  structuredFigures(figures);
  resetMasker();
  return figures;
}

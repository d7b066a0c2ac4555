import { InvalidSecretError } from "./errors.js";
import { collectStrings } from "./secret-forms.js";
import type { SecretSource } from "./source.js";

/** The largest secret value accepted, in UTF-8 bytes (64 KiB): a text, or each text field of an object secret. */
export const MAX_SECRET_VALUE_BYTES = 64 * 1024;

/**
 * Checks a secret value as it comes in from any source (run values, env, the local store, a backend, an argument)
 * and throws `InvalidSecretError`, naming the secret and the source, when it breaks a limit: today, a text (or a
 * text field of an object) larger than `MAX_SECRET_VALUE_BYTES`. Values that fail are refused, never registered
 * with the masker. It never puts any part of the value in its message.
 * @example
 * checkSecretValue("GITHUB_ACCESS_TOKEN", { kind: "env", detail: "GITHUB_TOKEN" }, process.env.GITHUB_TOKEN);
 */
export function checkSecretValue(name: string, source: SecretSource, value: unknown): void {
  let largest = 0;
  let field = "";
  const visit = (text: string, path: string) => {
    // A UTF-8 byte count is at most 3 per UTF-16 unit: only texts near the limit need counting.
    if (text.length * 3 <= MAX_SECRET_VALUE_BYTES) return;
    const bytes = Buffer.byteLength(text, "utf8");
    if (bytes > largest) {
      largest = bytes;
      field = path;
    }
  };
  if (typeof value === "string") visit(value, "");
  else if (value && typeof value === "object") {
    for (const [key, field] of Object.entries(value)) collectStrings(field, (text) => visit(text, key));
  }
  if (largest > MAX_SECRET_VALUE_BYTES) {
    throw new InvalidSecretError(name, source, [
      {
        field,
        message: `is ${largest} bytes long, more than the ${MAX_SECRET_VALUE_BYTES} bytes (64 KiB) a secret value may hold`,
      },
    ]);
  }
}

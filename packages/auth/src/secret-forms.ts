/** Strings shorter than this are not masked inside text: masking `"a"` everywhere would garble every log. */
export const MIN_MASKED_LENGTH = 4;

/** A base64 run shorter than this (6 bytes of the value) is not masked on its own: it would match too often. */
const MIN_BASE64_CORE = 8;

/**
 * @internal Every form of `value` that the masker looks for: the value, its JSON-escaped, `encodeURIComponent`
 * and form-encoded forms, and its base64 and base64url. Base64 is also registered at the two other byte
 * alignments (without the characters that depend on neighbouring bytes), so the value is found inside a longer
 * encoded text such as `Basic base64(user:value)`. Forms shorter than `MIN_MASKED_LENGTH` are left out.
 */
export function secretForms(value: string): string[] {
  if (value.length < MIN_MASKED_LENGTH) return [];
  const forms = new Set<string>([value]);
  forms.add(JSON.stringify(value).slice(1, -1));
  try {
    forms.add(encodeURIComponent(value));
  } catch {
    // A lone surrogate has no URI form, so the value cannot appear in one.
  }
  forms.add(new URLSearchParams([["", value]]).toString().slice(1));
  const bytes = Buffer.from(value, "utf8");
  forms.add(bytes.toString("base64"));
  forms.add(bytes.toString("base64url"));
  for (let shift = 0; shift < 3; shift++) {
    const shifted = shift === 0 ? bytes : Buffer.concat([Buffer.alloc(shift), bytes]);
    // Whole 3-byte groups that hold only the value's bytes; encoding them alone gives a flat string, where a
    // slice of the whole encoding would keep all of it alive.
    const first = shift === 0 ? 0 : 3;
    const last = Math.floor(shifted.length / 3) * 3;
    if (((last - first) / 3) * 4 < MIN_BASE64_CORE) continue;
    const core = shifted.subarray(first, last).toString("base64");
    forms.add(core);
    forms.add(core.replaceAll("+", "-").replaceAll("/", "_"));
  }
  return [...forms].filter((form) => form.length >= MIN_MASKED_LENGTH);
}

/** @internal Calls `add` with each string found in `value` (itself, or an object's fields, 8 levels deep). */
export function collectStrings(value: unknown, add: (text: string) => void, depth = 0): void {
  if (typeof value === "string") add(value);
  else if (value && typeof value === "object" && depth < 8) {
    for (const field of Object.values(value)) collectStrings(field, add, depth + 1);
  }
}

import { inspect } from "node:util";

/**
 * The forms in which a secret value can leak: as is, JSON-escaped, `encodeURIComponent`-encoded, form-encoded,
 * base64 and base64url — the latter also at the two other byte alignments, as inside `Basic base64(user:value)`.
 * Written apart from the masker on purpose, so that a test using it checks the masker instead of repeating it.
 */
export function secretTraces(value: string): { form: string; text: string }[] {
  const traces = new Map<string, string>();
  const add = (form: string, text: string) => {
    if (text.length >= 8 && !traces.has(text)) traces.set(text, form);
  };
  add("value", value);
  add("JSON-escaped", JSON.stringify(value).slice(1, -1));
  add("URI-encoded", encodeURIComponent(value));
  add("form-encoded", new URLSearchParams({ v: value }).toString().slice(2));
  const bytes = Buffer.from(value, "utf8");
  for (let shift = 0; shift < 3; shift++) {
    const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString("base64");
    // Characters that depend only on the value's bytes: skip the first group when shifted, and the last group.
    const core = encoded.slice(shift === 0 ? 0 : 4, Math.floor((shift + bytes.length) / 3) * 4);
    add(`base64 (offset ${shift})`, core);
    add(`base64url (offset ${shift})`, core.replaceAll("+", "-").replaceAll("/", "_"));
  }
  return [...traces].map(([text, form]) => ({ form, text }));
}

/**
 * Looks for every trace of every secret in every output, and describes each one found (`"base64 (offset 1) of
 * TOKEN in inspect(error)"`); an empty list means nothing leaked.
 * @example
 * expect(findSecretTraces({ "inspect(error)": inspect(error, { depth: Infinity }) }, { TOKEN: token })).toEqual([]);
 */
export function findSecretTraces(
  outputs: Readonly<Record<string, string>>,
  secrets: Readonly<Record<string, string>>,
): string[] {
  const found: string[] = [];
  for (const [secretName, value] of Object.entries(secrets)) {
    const traces = secretTraces(value);
    for (const [outputName, output] of Object.entries(outputs)) {
      for (const { form, text } of traces) {
        if (output.includes(text)) found.push(`${form} of ${secretName} in ${outputName}`);
      }
    }
  }
  return found;
}

/**
 * Every way careless code prints an error — `util.inspect` at any depth (what `console.error(error)` shows),
 * `JSON.stringify`, `String` and the stack — keyed by how it was printed, for `findSecretTraces`.
 */
export function errorOutputs(error: unknown): Record<string, string> {
  return {
    "inspect(error, { depth: Infinity })": inspect(error, {
      depth: Number.POSITIVE_INFINITY,
      showHidden: true,
    }),
    "JSON.stringify(error)": String(JSON.stringify(error)),
    "String(error)": String(error),
    "error.stack": String((error as { stack?: unknown } | null)?.stack),
  };
}

/**
 * Runs `call` inside a run made by `run` (a flow run, given the body and a log sink), expects it to fail, and
 * returns every text the failure produced: the error printed every way (`errorOutputs`), the run's report and its
 * log lines.
 * @example
 * const outputs = await failureOutputs(
 *   (body, sink) => flow({ name: "f", logger: { sink } }, body).run({ secrets: { SLACK_BOT_TOKEN: token } }),
 *   () => slackMessage({ channel: "#general", text: "x" }),
 * );
 * expect(findSecretTraces(outputs, { SLACK_BOT_TOKEN: token })).toEqual([]);
 */
export async function failureOutputs(
  run: (body: () => Promise<void>, sink: (line: string) => void) => Promise<unknown>,
  call: () => Promise<unknown>,
): Promise<Record<string, string>> {
  const lines: string[] = [];
  let thrown: unknown;
  const report = await run(
    async () => {
      thrown = await call().then(
        () => undefined,
        (error: unknown) => error ?? new Error("undefined was thrown"),
      );
      if (thrown) throw thrown;
    },
    (line) => lines.push(line),
  );
  if (thrown === undefined) throw new Error("failureOutputs: the call did not fail");
  return { ...errorOutputs(thrown), report: JSON.stringify(report), logs: lines.join("\n") };
}

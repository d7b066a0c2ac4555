import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import {
  checkSchema,
  ENV_PREFIX,
  getSecretDefinition,
  InvalidSecretError,
  localStore,
  parseSecretJson,
  registerSecretValue,
  type SecretFieldIssue,
  secretSizeProblem,
} from "@tributary/auth";
import { EXIT_CODES } from "./cli-io.js";
import type { CommandContext } from "./command-context.js";
import { checkSecretName, parseCommandArgs, UsageError } from "./parse-command-args.js";
import { readSecretInput } from "./read-secret-input.js";
import { SET_USAGE } from "./usage.js";

const ARGV_REFUSED =
  "secrets set takes the NAME only and refuses a value on the command line: arguments are visible to other " +
  "users (ps, /proc) and saved in shell history. Nothing was stored. Pipe the value in " +
  "(tributary secrets set NAME < value.txt) or run the command in a terminal to type it at a hidden prompt.";

/** `tributary secrets set NAME`: reads, checks and stores one secret. */
export async function secretsSet(args: readonly string[], ctx: CommandContext): Promise<number> {
  const parsed = parseCommandArgs(args, { json: false }, SET_USAGE);
  if (parsed.help) {
    ctx.output.out(SET_USAGE);
    return EXIT_CODES.ok;
  }
  if (parsed.positionals.length > 1 || parsed.unknownHadValue) throw new UsageError(ARGV_REFUSED, SET_USAGE);
  if (parsed.unknown.length > 0) {
    throw new UsageError(`unknown option ${parsed.unknown.join(", ")}. ${ARGV_REFUSED}`, SET_USAGE);
  }
  const name = checkSecretName(parsed.positionals[0], SET_USAGE);
  const store = localStore();
  store.check(); // An unsafe or corrupt store (or store folder) fails here, before anyone types a value.

  const text = await readSecretInput(ctx.stdin(), ctx.output, name);
  const size = secretSizeProblem(text);
  if (size)
    throw new InvalidSecretError(name, { kind: "store", detail: store.path }, [{ field: "", message: size }]);
  registerSecretValue(text);
  const def = getSecretDefinition(name);
  let value: unknown = text;
  let issues: readonly SecretFieldIssue[] = [];
  if (!def) {
    ctx.output.err(
      `warning: ${name} is not a registered secret name, so no schema checks it: stored as text as given.`,
    );
  } else {
    if (def.format === "json") {
      try {
        value = parseSecretJson(name, text, { kind: "argument", detail: "stdin" });
        registerSecretValue(value);
      } catch (error) {
        if (!InvalidSecretError.isInstance(error)) throw error;
        issues = error.issues.map((i) =>
          i.message === "is not valid JSON"
            ? { ...i, message: `${i.message} (${name} is a JSON-shaped secret)` }
            : i,
        );
      }
    }
    if (issues.length === 0) {
      const check = checkSchema(def.schema, value);
      if (!check.ok) issues = check.issues;
    }
  }
  if (issues.length > 0) {
    const list = issues.map((i) => `  - ${i.field || "(value)"}: ${i.message}`).join("\n");
    ctx.output.err(`error: ${name} was not stored: the value is malformed:\n${list}`);
    return EXIT_CODES.failure;
  }

  // The store takes its lock before creating its folder, so a first `set` into a new TRIBUTARY_HOME needs it made.
  await mkdir(dirname(store.path), { recursive: true, mode: 0o700 });
  await store.set(name, value);
  ctx.output.out(`Stored ${name} in ${store.path}`);
  const flat = `${ENV_PREFIX}${name}`;
  if (Object.keys(process.env).some((k) => k === flat || k.startsWith(`${flat}__`))) {
    ctx.output.err(`note: ${flat} is set in this environment and wins over the local store.`);
  }
  return EXIT_CODES.ok;
}

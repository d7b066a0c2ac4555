import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import {
  checkSecretValue,
  ENV_PREFIX,
  formatIssues,
  getSecretDefinition,
  InvalidSecretError,
  localStore,
  registeredNameLike,
  registerSecret,
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
  const parsed = parseCommandArgs(args, { force: true }, SET_USAGE);
  if (parsed.help) {
    ctx.output.out(SET_USAGE);
    return EXIT_CODES.ok;
  }
  if (parsed.positionals.length > 1 || parsed.unknownHadValue) throw new UsageError(ARGV_REFUSED, SET_USAGE);
  if (parsed.unknown.length > 0) {
    throw new UsageError(`unknown option ${parsed.unknown.join(", ")}. ${ARGV_REFUSED}`, SET_USAGE);
  }
  const name = checkSecretName(parsed.positionals[0], SET_USAGE);
  // Refused before anyone types a value: a misspelled name would store a secret that no task ever reads.
  const like = registeredNameLike(name);
  if (like && !parsed.force) {
    ctx.output.err(
      `error: ${name} is not a registered name: did you mean ${like}? Nothing was stored. To store it under ${name} anyway: tributary secrets set ${name} --force`,
    );
    return EXIT_CODES.failure;
  }
  const store = localStore();
  store.check(); // An unsafe or corrupt store (or store folder) fails here, before anyone types a value.

  const text = await readSecretInput(ctx.stdin(), ctx.output, name);
  const size = secretSizeProblem(text);
  if (size)
    throw new InvalidSecretError(name, { kind: "store", detail: store.path }, [{ field: "", message: size }]);
  // The whole text and, of a JSON-shaped name, its secret fields: whatever a malformed-value message might echo.
  registerSecret(name, text);
  const def = getSecretDefinition(name);
  if (!def) {
    ctx.output.err(
      `warning: ${name} is not a registered secret name, so no schema checks it: stored as text as given.`,
    );
  }
  const check = checkSecretValue(name, text, def);
  if (!check.ok) {
    const issues = check.issues.map((i) =>
      i.field === "" && i.message === "is not valid JSON"
        ? { ...i, message: `is not valid JSON (${name} is a JSON-shaped secret)` }
        : i,
    );
    ctx.output.err(`error: ${name} was not stored: the value is malformed:\n${formatIssues(issues)}`);
    return EXIT_CODES.failure;
  }
  const value = check.value;
  registerSecret(name, value);

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

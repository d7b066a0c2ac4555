import { ENV_PREFIX, localStore, SecretStoreError } from "@tributary/auth";
import { EXIT_CODES } from "./cli-io.js";
import type { CommandContext } from "./command-context.js";
import { checkSecretName, parseCommandArgs, UsageError } from "./parse-command-args.js";
import { RM_USAGE } from "./usage.js";

/** `tributary secrets rm NAME`: removes one name from the local store. */
export async function secretsRm(args: readonly string[], ctx: CommandContext): Promise<number> {
  const parsed = parseCommandArgs(args, { json: false }, RM_USAGE);
  if (parsed.help) {
    ctx.output.out(RM_USAGE);
    return EXIT_CODES.ok;
  }
  if (parsed.unknown.length > 0)
    throw new UsageError(`unknown option ${parsed.unknown.join(", ")}`, RM_USAGE);
  if (parsed.positionals.length > 1) throw new UsageError("secrets rm takes one NAME", RM_USAGE);
  const name = checkSecretName(parsed.positionals[0], RM_USAGE);
  const store = localStore();
  const removed = await store.remove(name);
  if (!removed) {
    throw new SecretStoreError(
      "SECRET_NOT_STORED",
      `${name} is not in the local store ${store.path}; nothing was removed.`,
      store.path,
    );
  }
  ctx.output.out(`Removed ${name} from ${store.path}`);
  const flat = `${ENV_PREFIX}${name}`;
  if (Object.keys(process.env).some((k) => k === flat || k.startsWith(`${flat}__`))) {
    ctx.output.err(`note: ${flat} is still set in this environment; rm changes only the local store.`);
  }
  return EXIT_CODES.ok;
}

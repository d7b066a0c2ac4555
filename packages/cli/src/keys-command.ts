import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { describeSource, ENV_PREFIX, localStore, registerSecretValue, resolveSecret } from "@tributary/auth";
import type { readSigningKey } from "@tributary/flow";
import { EXIT_CODES } from "./cli-io.js";
import type { CommandContext } from "./command-context.js";
import { parseOptions } from "./command-options.js";
import { stringOption } from "./option-values.js";
import { checkSecretName, UsageError } from "./parse-command-args.js";
import { KEYS_GENERATE_USAGE, KEYS_PUBLIC_USAGE } from "./usage.js";

/** The secret name a signing key is stored and read under unless another is given. */
export const SIGNING_KEY_SECRET = "TRIBUTARY_SIGNING_KEY";

/**
 * `tributary keys generate [--name LABEL] [--secret NAME] [--out FILE] [--force]`: makes an Ed25519 key pair,
 * stores the private key in the local store and prints the public key and its key id.
 */
export async function keysGenerate(args: readonly string[], ctx: CommandContext): Promise<number> {
  const parsed = parseOptions(
    args,
    { name: "string", secret: "string", out: "string", force: "boolean", json: "boolean" },
    KEYS_GENERATE_USAGE,
  );
  if (parsed.help) {
    ctx.output.out(KEYS_GENERATE_USAGE);
    return EXIT_CODES.ok;
  }
  if (parsed.positionals.length > 0) {
    throw new UsageError("keys generate takes no arguments", KEYS_GENERATE_USAGE);
  }
  const secret = checkSecretName(stringOption(parsed, "secret") ?? SIGNING_KEY_SECRET, KEYS_GENERATE_USAGE);
  const out = stringOption(parsed, "out");
  const store = localStore();
  store.check();
  if (store.names().includes(secret) && parsed.values.force !== true) {
    ctx.output.err(
      `error: the local store already holds ${secret}; nothing was changed. Replacing it retires the old key: pass --force to do so, or --secret NAME to keep both`,
    );
    return EXIT_CODES.failure;
  }
  if (out !== undefined && existsSync(out) && parsed.values.force !== true) {
    ctx.output.err(`error: ${out} exists; nothing was changed (pass --force to replace it)`);
    return EXIT_CODES.failure;
  }
  const { generateSigningKey } = await import("@tributary/flow");
  const pair = generateSigningKey(stringOption(parsed, "name"));
  registerSecretValue(pair.privateKeyPem);
  await mkdir(dirname(store.path), { recursive: true, mode: 0o700 });
  await store.set(secret, pair.privateKeyPem);
  if (out !== undefined) {
    await mkdir(dirname(resolve(out)), { recursive: true });
    await writeFile(out, pair.publicKeyPem);
  }
  if (parsed.values.json === true) {
    ctx.output.json({ keyId: pair.keyId, secret, publicKey: pair.publicKeyPem, ...(out ? { out } : {}) });
    return EXIT_CODES.ok;
  }
  ctx.output.err(
    `Stored the private key as ${secret} in ${store.path}; key id ${pair.keyId}${out !== undefined ? `; public key written to ${out}` : ""}`,
  );
  if (process.env[`${ENV_PREFIX}${secret}`] !== undefined) {
    ctx.output.err(`note: ${ENV_PREFIX}${secret} is set in this environment and wins over the local store.`);
  }
  ctx.output.out(pair.publicKeyPem.trimEnd());
  return EXIT_CODES.ok;
}

/** `tributary keys public [NAME]`: prints the public key (and key id) of the private key stored as NAME. */
export async function keysPublic(args: readonly string[], ctx: CommandContext): Promise<number> {
  const parsed = parseOptions(args, { json: "boolean" }, KEYS_PUBLIC_USAGE);
  if (parsed.help) {
    ctx.output.out(KEYS_PUBLIC_USAGE);
    return EXIT_CODES.ok;
  }
  if (parsed.positionals.length > 1) throw new UsageError("give at most one NAME", KEYS_PUBLIC_USAGE);
  const name = checkSecretName(parsed.positionals[0] ?? SIGNING_KEY_SECRET, KEYS_PUBLIC_USAGE);
  const { key, source } = await signingKey(name);
  if (parsed.values.json === true) {
    ctx.output.json({ keyId: key.keyId, label: key.label ?? null, publicKey: key.publicKeyPem });
    return EXIT_CODES.ok;
  }
  ctx.output.err(`${name} (from ${source}): key id ${key.keyId}`);
  ctx.output.out(key.publicKeyPem.trimEnd());
  return EXIT_CODES.ok;
}

/**
 * The signing key stored under `name`, resolved like any secret (run values, environment, local store, backends)
 * and read as an Ed25519 private key; a value that is not one is an error naming the secret, never its text.
 */
export async function signingKey(name: string): Promise<{
  pem: string;
  key: ReturnType<typeof readSigningKey>;
  source: string;
}> {
  const { readSigningKey: read } = await import("@tributary/flow");
  const { value, source } = await resolveSecret(name, { secretName: name });
  const pem = typeof value === "string" ? value : "";
  return { pem, key: read(pem, `secret ${name}`), source: describeSource(source) };
}

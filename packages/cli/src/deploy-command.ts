import { EXIT_CODES } from "./cli-io.js";
import type { CommandContext } from "./command-context.js";
import { parseOptions } from "./command-options.js";
import { loadConfig } from "./config-file.js";
import { deployFlow } from "./deploy.js";
import { SIGNING_KEY_SECRET } from "./keys-command.js";
import { stringOption } from "./option-values.js";
import { checkSecretName, UsageError } from "./parse-command-args.js";
import { DEPLOY_USAGE } from "./usage.js";

/** `tributary deploy FILE [--storage ADDRESS] [--flow NAME] [--sign] [--signing-key NAME] [--json]`. */
export async function deployCommand(args: readonly string[], ctx: CommandContext): Promise<number> {
  const parsed = parseOptions(
    args,
    {
      storage: "string",
      flow: "string",
      json: "boolean",
      sign: "boolean",
      "signing-key": "string",
      config: "string",
    },
    DEPLOY_USAGE,
  );
  if (parsed.help) {
    ctx.output.out(DEPLOY_USAGE);
    return EXIT_CODES.ok;
  }
  const [file, ...extra] = parsed.positionals;
  if (file === undefined) throw new UsageError("missing FILE", DEPLOY_USAGE);
  if (extra.length > 0) throw new UsageError("give one FILE", DEPLOY_USAGE);
  const { storage, flow } = parsed.values;
  const named = stringOption(parsed, "signing-key");
  const signingKey =
    named !== undefined
      ? checkSecretName(named, DEPLOY_USAGE)
      : parsed.values.sign === true
        ? SIGNING_KEY_SECRET
        : undefined;
  if (signingKey === undefined && "config" in parsed.values) {
    throw new UsageError(
      "--config goes with --sign: the config file's backends may hold the signing key",
      DEPLOY_USAGE,
    );
  }
  // The config file's backends are asked for the signing key after the environment and the local store.
  const backends =
    signingKey === undefined ? undefined : (await loadConfig(stringOption(parsed, "config")))?.backends;
  const { address, manifest, signedBy } = await deployFlow(file, {
    ...(typeof storage === "string" ? { storage } : {}),
    ...(typeof flow === "string" ? { flow } : {}),
    ...(signingKey !== undefined ? { signingKey } : {}),
    ...(backends ? { backends } : {}),
  });
  const signer = signedBy && `${signedBy.keyId}${signedBy.label ? ` (${signedBy.label})` : ""}`;
  if (parsed.values.json === true) {
    ctx.output.json({
      address,
      flow: manifest.flow,
      secrets: manifest.secrets,
      sha256: manifest.bundle.sha256,
      size: manifest.bundle.size,
      tributary: manifest.tributary,
      signedBy: signedBy ? { keyId: signedBy.keyId, label: signedBy.label ?? null } : null,
    });
    return EXIT_CODES.ok;
  }
  const needs = [
    ...manifest.secrets.storage.map((n) => `${n} (storage)`),
    ...manifest.secrets.flow.filter((n) => !manifest.secrets.storage.includes(n)).map((n) => `${n} (flow)`),
  ];
  ctx.output.out(
    [
      `Deployed flow ${manifest.flow} to ${address}`,
      `  bundle: ${manifest.bundle.size} bytes, sha256 ${manifest.bundle.sha256}`,
      signer ? `  signed by key ${signer} for ${address}` : "  not signed (tributary deploy --sign signs it)",
      `  a run needs: ${needs.length > 0 ? needs.join(", ") : "no secrets"}`,
      `Run it with: tributary run ${address}`,
    ].join("\n"),
  );
  return EXIT_CODES.ok;
}

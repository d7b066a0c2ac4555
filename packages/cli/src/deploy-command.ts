import { EXIT_CODES } from "./cli-io.js";
import type { CommandContext } from "./command-context.js";
import { parseOptions } from "./command-options.js";
import { deployFlow } from "./deploy.js";
import { UsageError } from "./parse-command-args.js";
import { DEPLOY_USAGE } from "./usage.js";

/** `tributary deploy FILE [--storage ADDRESS] [--flow NAME] [--json]`. */
export async function deployCommand(args: readonly string[], ctx: CommandContext): Promise<number> {
  const parsed = parseOptions(args, { storage: "string", flow: "string", json: "boolean" }, DEPLOY_USAGE);
  if (parsed.help) {
    ctx.output.out(DEPLOY_USAGE);
    return EXIT_CODES.ok;
  }
  const [file, ...extra] = parsed.positionals;
  if (file === undefined) throw new UsageError("missing FILE", DEPLOY_USAGE);
  if (extra.length > 0) throw new UsageError("give one FILE", DEPLOY_USAGE);
  const { storage, flow } = parsed.values;
  const { address, manifest } = await deployFlow(file, {
    ...(typeof storage === "string" ? { storage } : {}),
    ...(typeof flow === "string" ? { flow } : {}),
  });
  if (parsed.values.json === true) {
    ctx.output.json({
      address,
      flow: manifest.flow,
      secrets: manifest.secrets,
      sha256: manifest.bundle.sha256,
      size: manifest.bundle.size,
      tributary: manifest.tributary,
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
      `  a run needs: ${needs.length > 0 ? needs.join(", ") : "no secrets"}`,
      `Run it with: tributary run ${address}`,
    ].join("\n"),
  );
  return EXIT_CODES.ok;
}

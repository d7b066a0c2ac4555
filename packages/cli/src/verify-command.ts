import { EXIT_CODES } from "./cli-io.js";
import type { CommandContext } from "./command-context.js";
import { parseOptions } from "./command-options.js";
import { trustPolicy } from "./config-file.js";
import { listOption, stringOption } from "./option-values.js";
import { UsageError } from "./parse-command-args.js";
import { VERIFY_USAGE } from "./usage.js";

/**
 * `tributary verify ADDRESS [--trust-key FILE]... [--config FILE] [--json]`: checks a deployment's signature under
 * the trust policy and that its bundle is the one signed, without running it. Exit 0 trusted, 1 not.
 */
export async function verifyCommand(args: readonly string[], ctx: CommandContext): Promise<number> {
  const parsed = parseOptions(args, { "trust-key": "list", config: "string", json: "boolean" }, VERIFY_USAGE);
  if (parsed.help) {
    ctx.output.out(VERIFY_USAGE);
    return EXIT_CODES.ok;
  }
  const [address, ...extra] = parsed.positionals;
  if (address === undefined) throw new UsageError("missing ADDRESS", VERIFY_USAGE);
  if (extra.length > 0) throw new UsageError("give one ADDRESS", VERIFY_USAGE);
  const policy = await trustPolicy(listOption(parsed, "trust-key"), stringOption(parsed, "config"));
  if (policy.keys === undefined) {
    throw new UsageError(
      "verify needs the keys to trust: --trust-key FILE, or trustedKeys in tributary.config.*",
      VERIFY_USAGE,
    );
  }
  const json = parsed.values.json === true;
  const { DeploymentError, storageKindsFor, verifyDeployment } = await import("@tributary/flow");
  const kinds = await storageKindsFor(address);
  try {
    const signed = await verifyDeployment(address, { trustedKeys: policy.keys, kinds });
    if (json) {
      ctx.output.json({
        trusted: true,
        flow: signed.manifest.flow,
        address: signed.address,
        keyId: signed.keyId,
        label: signed.label ?? null,
        signedAt: signed.signedAt,
        sha256: signed.sha256,
      });
      return EXIT_CODES.ok;
    }
    ctx.output.out(
      [
        `Trusted: flow ${signed.manifest.flow} at ${signed.address}`,
        `  signed by key ${signed.keyId}${signed.label ? ` (${signed.label})` : ""} at ${signed.signedAt}`,
        `  for address ${signed.address}`,
        `  bundle sha256 ${signed.sha256} (checked), deployed at ${signed.manifest.deployedAt}`,
      ].join("\n"),
    );
    return EXIT_CODES.ok;
  } catch (error) {
    if (!DeploymentError.isInstance(error) || error.code !== "UNTRUSTED_DEPLOYMENT") throw error;
    if (json) {
      ctx.output.json({ trusted: false, reason: error.reason, message: error.message });
    }
    ctx.output.err(`Not trusted: ${error.message}`);
    return EXIT_CODES.failure;
  }
}

import { EXIT_CODES } from "./cli-io.js";
import type { CommandContext } from "./command-context.js";
import { parseOptions } from "./command-options.js";
import { formatTable } from "./format-table.js";
import { stringOption } from "./option-values.js";
import { UsageError } from "./parse-command-args.js";
import { AGENT_LS_USAGE } from "./usage.js";

/** `tributary agent ls`: the agents alive now (heartbeat not expired), on one queue or all. */
export async function agentLs(args: readonly string[], ctx: CommandContext): Promise<number> {
  const parsed = parseOptions(args, { queue: "string", redis: "string", json: "boolean" }, AGENT_LS_USAGE);
  if (parsed.help) {
    ctx.output.out(AGENT_LS_USAGE);
    return EXIT_CODES.ok;
  }
  if (parsed.positionals.length > 0) throw new UsageError("agent ls takes no arguments", AGENT_LS_USAGE);
  const { listAgents } = await import("@tributary/agent");
  const agents = await listAgents({
    redis: stringOption(parsed, "redis"),
    queue: stringOption(parsed, "queue"),
  });
  if (parsed.values.json === true) {
    ctx.output.json({ agents });
    return EXIT_CODES.ok;
  }
  if (agents.length === 0) {
    ctx.output.out("no agents alive");
    return EXIT_CODES.ok;
  }
  ctx.output.out(
    formatTable(
      ["AGENT", "QUEUE", "ISOLATION", "RUNNING", "SECRETS", "SEEN"],
      agents.map((a) => [
        a.id,
        a.queue,
        a.isolation,
        `${a.running}/${a.concurrency}`,
        a.secrets.join(",") || "-",
        a.seenAt,
      ]),
    ),
  );
  return EXIT_CODES.ok;
}

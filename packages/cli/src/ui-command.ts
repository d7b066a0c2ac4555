import { registerSecretValue, resolveSecret, ValidationError } from "@tributary/auth";
import { EXIT_CODES } from "./cli-io.js";
import type { CommandContext } from "./command-context.js";
import { parseOptions } from "./command-options.js";
import { integerOption, listOption, stringOption } from "./option-values.js";
import { UsageError } from "./parse-command-args.js";
import { UI_USAGE } from "./usage.js";

/** The environment variable that may hold the dashboard's token. */
export const UI_TOKEN_ENV = "TRIBUTARY_UI_TOKEN";
/** The fewest characters a dashboard token may have. */
const MIN_TOKEN_LENGTH = 16;

/**
 * `tributary ui --queue Q...`: serves the web dashboard of runs, schedules and agents until interrupted. The server
 * (Hono) is loaded only here, so other commands do not pay for it.
 */
export async function uiCommand(args: readonly string[], ctx: CommandContext): Promise<number> {
  const parsed = parseOptions(
    args,
    {
      queue: "list",
      redis: "string",
      host: "string",
      port: "string",
      "token-secret": "string",
      "allow-actions": "boolean",
    },
    UI_USAGE,
  );
  if (parsed.help) {
    ctx.output.out(UI_USAGE);
    return EXIT_CODES.ok;
  }
  if (parsed.positionals.length > 0) throw new UsageError("ui takes no arguments", UI_USAGE);
  const queues = listOption(parsed, "queue");
  if (queues.length === 0) throw new UsageError("missing --queue", UI_USAGE);
  const port = integerOption(parsed, "port", { min: 0, max: 65535 }, 4600, UI_USAGE);
  const host = stringOption(parsed, "host") ?? "127.0.0.1";
  const tokenSecret = stringOption(parsed, "token-secret");
  let token: string | undefined;
  if (tokenSecret !== undefined) {
    const { value } = await resolveSecret(tokenSecret);
    if (typeof value !== "string")
      throw new ValidationError("--token-secret", `${tokenSecret} must be a text`);
    token = value;
  } else if (process.env[UI_TOKEN_ENV]) {
    token = process.env[UI_TOKEN_ENV];
  }
  if (token !== undefined) {
    registerSecretValue(token);
    if (token.length < MIN_TOKEN_LENGTH) {
      throw new ValidationError(
        tokenSecret === undefined ? UI_TOKEN_ENV : "--token-secret",
        `the dashboard's token needs ${MIN_TOKEN_LENGTH} characters or more`,
      );
    }
  }
  const { startUi } = await import("./ui-server.js");
  const ui = await startUi({
    queues,
    host,
    port,
    allowActions: parsed.values["allow-actions"] === true,
    ...(token !== undefined ? { token } : {}),
    ...(stringOption(parsed, "redis") !== undefined ? { redis: stringOption(parsed, "redis") } : {}),
  });
  ctx.output.err(
    `tributary ui on ${ui.url} (queues ${queues.join(", ")}; ${
      parsed.values["allow-actions"] === true ? "actions allowed" : "read-only"
    }${token !== undefined ? "; token required" : ""})`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await ui.close();
  return EXIT_CODES.ok;
}

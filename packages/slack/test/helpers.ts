import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clientCache } from "@tributary/auth";
import { configureLogging, type LogRecord } from "@tributary/flow";
import { type SlackStandIn, type SlackStandInOptions, startSlackStandIn } from "@tributary/testing";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";

const TOUCHED = [
  "TRIBUTARY_HOME",
  "SLACK_API_URL",
  "SLACK_BOT_TOKEN",
  "SLACK_WEBHOOK_URL",
  "TRIBUTARY__CONTEXT__SECRETS__SLACK_BOT_TOKEN",
  "TRIBUTARY__CONTEXT__SECRETS__SLACK_WEBHOOK_URL",
];

/** What a test file gets from `useSlackTestEnv`: the stand-in (fresh per test) and the log records. */
export interface SlackTestEnv {
  slack: SlackStandIn;
  logs: LogRecord[];
  home: string;
}

/**
 * Per test: a fresh TRIBUTARY_HOME temp dir, no Slack env vars, an empty client cache, a reset stand-in and
 * captured log records. The stand-in is started once per file and closed after it.
 */
export function useSlackTestEnv(options: SlackStandInOptions): SlackTestEnv {
  const env = { logs: [] as LogRecord[] } as SlackTestEnv;
  const saved = new Map<string, string | undefined>();
  beforeAll(async () => {
    env.slack = await startSlackStandIn(options);
  });
  afterAll(async () => {
    await env.slack?.close();
  });
  beforeEach(async () => {
    for (const name of TOUCHED) {
      saved.set(name, process.env[name]);
      delete process.env[name];
    }
    env.home = await mkdtemp(join(tmpdir(), "tributary-slack-"));
    process.env.TRIBUTARY_HOME = env.home;
    env.slack.reset();
    env.logs.length = 0;
    clientCache.clear();
    configureLogging({ level: "debug", sink: (_line, record) => env.logs.push(record) });
  });
  afterEach(async () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await rm(env.home, { recursive: true, force: true });
  });
  return env;
}

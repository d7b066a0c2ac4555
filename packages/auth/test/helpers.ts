import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach } from "vitest";
import { configureBackends } from "../src/backend.js";

/** Gives each test a fresh TRIBUTARY_HOME and a clean environment of Tributary variables and backends. */
export function isolateEnvironment(): { home: () => string } {
  let home = "";
  const saved = { ...process.env };
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), "tributary-test-"));
    for (const key of Object.keys(process.env)) {
      if (
        key.startsWith("TRIBUTARY__") ||
        ["GITHUB_TOKEN", "GH_TOKEN", "SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL"].includes(key)
      ) {
        delete process.env[key];
      }
    }
    process.env.TRIBUTARY_HOME = home;
    configureBackends([]);
  });
  afterEach(() => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    configureBackends([]);
  });
  return { home: () => home };
}

/** A Slack-shaped bot token built at run time: `xoxb-<label>-<random hex>`. */
export function fakeSlackToken(label = "test"): string {
  return `xoxb-${label}-${randomBytes(8).toString("hex")}`;
}

// Issue 2: the cost of resolveSecret from each source, and the cold import time of @tributary/auth.
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { localStore, resolveSecret, withSecrets } from "@tributary/auth";
import { coldImportMs, fmt, microsPerCall } from "./stats.ts";

export default async function bench(): Promise<Record<string, string>> {
  process.env.TRIBUTARY_HOME = mkdtempSync(join(tmpdir(), "tributary-bench-"));
  const token = `xoxb-bench-${randomBytes(8).toString("hex")}`;
  const fromRun = await withSecrets({ SLACK_BOT_TOKEN: token }, () =>
    microsPerCall(() => resolveSecret("SLACK_BOT_TOKEN")),
  );
  process.env.TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS = JSON.stringify({
    ACCESS_KEY: "AKIDBENCH",
    SECRET_ACCESS_KEY: "bench-secret-access-key",
  });
  const fromEnv = await microsPerCall(() => resolveSecret("AWS_CREDENTIALS"));
  delete process.env.TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS;
  await localStore().set("GITHUB_ACCESS_TOKEN", "ghp_benchTokenValue123");
  const fromStore = await microsPerCall(() => resolveSecret("GITHUB_ACCESS_TOKEN"));
  const authDir = fileURLToPath(new URL("../packages/auth/", import.meta.url));
  const importMs = coldImportMs("@tributary/auth", 9, join(authDir, "..", "flow"));
  return {
    "resolveSecret from run values (goal ≤ 2 µs)": fmt(fromRun, "µs"),
    "resolveSecret from env JSON, after first parse (goal ≤ 5 µs)": fmt(fromEnv, "µs"),
    "resolveSecret from the local store (goal ≤ 50 µs)": fmt(fromStore, "µs"),
    "cold import of @tributary/auth (goal ≤ 30 ms)": fmt(importMs, "ms", 1),
  };
}

import { join } from "node:path";
import { resolveSecret } from "@tributary/auth";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { memorySink, useTempHome } from "../test/helpers.js";
import { flow } from "./flow.js";
import { task } from "./task.js";

useTempHome();

const saved = { ...process.env };
beforeEach(() => {
  // No AWS credentials anywhere the SDK chain looks.
  for (const key of Object.keys(process.env))
    if (key.startsWith("AWS_") || key.startsWith("TRIBUTARY__")) delete process.env[key];
  process.env.HOME = join(process.env.TRIBUTARY_HOME ?? "", "home");
  process.env.AWS_EC2_METADATA_DISABLED = "true";
});
afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
});

describe("a declared name backed by an SDK chain", () => {
  it("fails the run at start when the chain has nothing, and never logs the chain as the source", async () => {
    const { sink, lines } = memorySink();
    let ran = false;
    const f = flow({ name: "needs-aws", secrets: ["AWS_CREDENTIALS"], logger: { sink } }, async () => {
      ran = true;
    });
    const report = await f.run();
    expect(report.state).toBe("failed");
    expect(ran).toBe(false);
    expect(report.error).toMatchObject({ name: "MissingCredentialsError", code: "MISSING_CREDENTIALS" });
    expect(report.error?.message).toContain(
      "default-chain (env AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY): not set",
    );
    expect(lines.join("\n")).not.toMatch(/AWS_CREDENTIALS from default-chain/);
  });

  it("logs the chain as the source when it has a credential", async () => {
    process.env.AWS_ACCESS_KEY_ID = "AKIDFLOW";
    process.env.AWS_SECRET_ACCESS_KEY = "flow-secret-value";
    const { sink, records } = memorySink();
    const report = await flow(
      { name: "chain", secrets: ["AWS_CREDENTIALS"], logger: { sink } },
      async () => {},
    ).run();
    expect(report.state).toBe("completed");
    expect(records.map((r) => r.message)).toContain(
      "AWS_CREDENTIALS from default-chain (AWS SDK default provider chain: env AWS_ACCESS_KEY_ID)",
    );
  });
});

describe("undefined run values", () => {
  it.each([undefined, null])("fail the run with a ValidationError naming the secret (%s)", async (value) => {
    const { sink } = memorySink();
    const report = await flow({ name: "unset", logger: { sink } }, async () => {}).run({
      secrets: { SLACK_WEBHOOK_URL: value },
    });
    expect(report.state).toBe("failed");
    expect(report.error).toMatchObject({ name: "ValidationError", code: "INVALID_INPUT" });
    expect(report.error?.message).toContain(`the value of SLACK_WEBHOOK_URL is ${value}`);
  });
});

describe("text logs", () => {
  it("print an error on indented lines, once, where it ends the task; the wrapping task and the flow refer to it", async () => {
    const { sink, lines } = memorySink();
    const inner = task({ name: "inner" }, async () => {
      await resolveSecret("SLACK_BOT_TOKEN");
    });
    const outer = task({ name: "outer" }, async () => inner());
    const report = await flow({ name: "nested", logger: { sink } }, async () => outer()).run({
      runId: "run-1",
    });
    expect(report.state).toBe("failed");
    const failed = lines.filter((l) => / ERROR /.test(l));
    expect(failed).toHaveLength(3);
    const [innerLine, outerLine, flowLine] = failed as [string, string, string];
    expect(innerLine).toMatch(
      /ERROR Task inner failed flow=nested runId=run-1 task=inner\n {4}MissingCredentialsError \[MISSING_CREDENTIALS\]: No value for secret SLACK_BOT_TOKEN\. Tried, in order:\n {6}1\. argument/,
    );
    expect(innerLine).not.toContain("\\n");
    expect(outerLine).toMatch(/ERROR Task outer failed .* error="logged above by task inner, run run-1"$/);
    expect(flowLine).toMatch(
      /ERROR Flow run nested failed .* error="logged above by task inner, run run-1"$/,
    );
    // The report keeps the whole error: it is read on its own.
    expect(report.error?.message).toContain("Tried, in order:");
  });

  it("print the further lines of a multi-line message indented", () => {
    const { sink, lines } = memorySink();
    const f = flow({ name: "m", logger: { sink } }, async ({ log }) => log.info("two\nlines", { n: 1 }));
    return f.run().then(() => {
      expect(lines).toContainEqual(expect.stringMatching(/INFO {2}two flow=m runId=\S+ n=1\n {4}lines$/));
    });
  });
});

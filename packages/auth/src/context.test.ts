import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { fakeSlackToken, isolateEnvironment } from "../test/helpers.js";
import { currentRun, withSecrets } from "./context.js";
import { resolveSecret } from "./resolve-secret.js";

isolateEnvironment();

describe("run contexts", () => {
  it("keeps 1,000 interleaved concurrent runs apart", async () => {
    const runs = Array.from({ length: 1000 }, (_, i) =>
      withSecrets({ SLACK_BOT_TOKEN: `xoxb-run-${i}` }, async () => {
        const seen: string[] = [];
        for (let step = 0; step < 3; step++) {
          await sleep(Math.floor(Math.random() * 3));
          seen.push((await resolveSecret("SLACK_BOT_TOKEN")).value as string);
        }
        return seen;
      }),
    );
    const results = await Promise.all(runs);
    results.forEach((seen, i) => {
      expect(seen).toEqual([`xoxb-run-${i}`, `xoxb-run-${i}`, `xoxb-run-${i}`]);
    });
  });

  it("lets nested scopes inherit values, add declarations and narrow what may be read", async () => {
    const outerToken = fakeSlackToken("outer");
    await withSecrets(
      { SLACK_BOT_TOKEN: outerToken },
      () =>
        withSecrets(
          { GITHUB_ACCESS_TOKEN: "ghp_innerTokenValue" },
          async () => {
            const run = currentRun();
            expect([...(run?.secretNames ?? [])].sort()).toEqual(["GITHUB_ACCESS_TOKEN", "SLACK_BOT_TOKEN"]);
            expect(run?.declared).toEqual(["AWS_CREDENTIALS", "GCP_CREDENTIALS"]);
            expect(run?.allowed).toEqual(["SLACK_BOT_TOKEN"]);
            expect(run?.id).toBe("outer-run");
            expect((await resolveSecret("SLACK_BOT_TOKEN")).value).toBe(outerToken);
          },
          { declare: ["GCP_CREDENTIALS"], allow: ["SLACK_BOT_TOKEN"] },
        ),
      { declare: ["AWS_CREDENTIALS"], runId: "outer-run" },
    );
    expect(currentRun()).toBeUndefined();
  });

  it("refuses invalid secret names", () => {
    expect(() => withSecrets({ "bad-name": "x" }, () => 1)).toThrow(/Invalid secret name/);
    expect(() => withSecrets({ DOUBLE__UNDERSCORE: "x" }, () => 1)).toThrow(/single underscores/);
  });
});

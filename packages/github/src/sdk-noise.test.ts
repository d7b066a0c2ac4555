import { describe, expect, it } from "vitest";
import { writeFile } from "./github-contents.js";
import { useGitHubTestEnv } from "./test-env.js";

const env = useGitHubTestEnv();

describe("the SDK's own logs", () => {
  it("creating a file logs its expected 404 lookup at debug, not as an error", async () => {
    const created = await writeFile({
      repo: "acme/private",
      branch: "main",
      path: "docs/new.md",
      content: "hello\n",
      token: env.token,
      baseUrl: env.github.url,
    });
    expect(created.created).toBe(true);
    expect(env.logs.filter((r) => r.level === "error" || r.level === "warn")).toEqual([]);
    expect(env.logs).toContainEqual(
      expect.objectContaining({
        level: "debug",
        message: expect.stringMatching(/^GitHub SDK: GET .*contents.* - 404/),
      }),
    );
  });
});

import { describe, expect, it } from "vitest";
import { useGitHubTestEnv } from "../test/helpers.js";
import { githubWriteFile } from "./github-contents.js";

const env = useGitHubTestEnv();

describe("the SDK's own logs", () => {
  it("creating a file logs its expected 404 lookup at debug, not as an error", async () => {
    const created = await githubWriteFile({
      repo: "acme/private",
      branch: "main",
      path: "docs/new.md",
      content: "hello\n",
      token: env.token,
      endpoint: env.github.url,
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

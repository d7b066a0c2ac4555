import { checkConventions } from "@tributary/testing";
import { expect, it } from "vitest";
import { useGitHubTestEnv } from "../test/helpers.js";
import { githubGetRepo, ServiceError } from "./index.js";

it("the exported tasks follow docs/conventions.md", async () => {
  expect(
    await checkConventions({ entry: new URL("./index.ts", import.meta.url), prefixes: ["github"] }),
  ).toEqual([]);
}, 60_000);

const env = useGitHubTestEnv();

it("takes the endpoint from GITHUB_API_URL (as GitHub Actions sets it) when no endpoint is given", async () => {
  process.env.GITHUB_API_URL = env.github.url;
  try {
    const info = await githubGetRepo({ repo: "acme/private", token: env.token });
    expect(info.full_name).toBe("acme/private");
    const error = await githubGetRepo({ repo: "acme/none", token: env.token }).catch((e) => e);
    expect(ServiceError.isInstance(error)).toBe(true);
    expect([error.code, error.reason]).toEqual(["NOT_FOUND", "Not Found"]);
  } finally {
    delete process.env.GITHUB_API_URL;
  }
});

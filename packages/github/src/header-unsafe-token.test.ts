import { writeFileSync } from "node:fs";
import { InvalidSecretError, localStore } from "@tributary/auth";
import { describe, expect, it } from "vitest";
import { useGitHubTestEnv } from "../test/helpers.js";
import { githubGetRepo } from "./github-repo.js";

const env = useGitHubTestEnv();

// Characters an HTTP header cannot carry: refused as invalid before any request, marked not
// retryable: never retried as a network error.
const BAD = [
  ["a line break", "\n"],
  ["a NUL", "\u0000"],
  ["a non-Latin-1 character", "\u2603"],
] as const;
const SOURCES = ["argument", "env", "store", "GITHUB_TOKEN"] as const;

describe("a GitHub token holding a character HTTP headers cannot carry", () => {
  // The environment cannot hold a NUL (the OS cuts the value there), so that case runs from the other sources.
  const cases = BAD.flatMap(([what, ch]) => SOURCES.map((via) => ({ what, ch, via })));
  it.each(cases.filter((c) => !(c.ch === "\u0000" && (c.via === "env" || c.via === "GITHUB_TOKEN"))))(
    "$what, from $via",
    async ({ ch, via }) => {
      const token = `${env.token.slice(0, 12)}${ch}${env.token.slice(12)}`;
      if (via === "env") process.env.TRIBUTARY__CONTEXT__SECRETS__GITHUB_ACCESS_TOKEN = token;
      // Written as a hand-edited store would be: `localStore().set` itself refuses such a value.
      if (via === "store") {
        writeFileSync(
          localStore().path,
          JSON.stringify({ version: 1, secrets: { GITHUB_ACCESS_TOKEN: token } }),
          { mode: 0o600 },
        );
      }
      if (via === "GITHUB_TOKEN") process.env.GITHUB_TOKEN = token;
      const error = await githubGetRepo({
        repo: "acme/private",
        endpoint: env.github.url,
        ...(via === "argument" ? { token } : {}),
      }).catch((e) => e);
      expect(InvalidSecretError.isInstance(error), String(error)).toBe(true);
      expect(error.retryable).toBe(false);
      expect(error.message).toMatch(
        /GITHUB_ACCESS_TOKEN .*at position 13, which an HTTP header cannot carry/,
      );
      expect(error.message).not.toContain(env.token.slice(12));
      expect(env.github.requests).toEqual([]);
    },
  );
});

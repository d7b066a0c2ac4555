import { flow } from "@tributary/flow";
import { failureOutputs, findSecretTraces, generateGitHubToken } from "@tributary/testing";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { useGitHubTestEnv } from "../test/helpers.js";
import { githubGetRepo } from "./index.js";

const env = useGitHubTestEnv();

/** Runs `call` in a flow run given `secrets`, and returns every text its failure produced. */
const outputsOf = (secrets: Record<string, unknown>, call: () => Promise<unknown>) =>
  failureOutputs(
    (body, sink) => flow({ name: "no-leak", logger: { level: "debug", sink } }, body).run({ secrets }),
    call,
  );

const rejection = { message: "Bad credentials", documentation_url: "https://docs.github.com/rest" };

describe("no credential in any output when GitHub rejects it with a body that echoes the request", () => {
  it("a token", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("ghp_", "github_pat_", "gho_"), async (prefix) => {
        const token = generateGitHubToken(prefix);
        env.github.failNext(1, 401, { echo: true, body: rejection });
        const outputs = await outputsOf({ GITHUB_ACCESS_TOKEN: token }, () =>
          githubGetRepo({ repo: "acme/public", endpoint: env.github.url }),
        );
        expect(outputs["inspect(error, { depth: Infinity })"]).toContain("Bad credentials");
        expect(findSecretTraces(outputs, { GITHUB_ACCESS_TOKEN: token })).toEqual([]);
      }),
      { numRuns: 6 },
    );
  });

  it.each([
    { call: "the installation token", match: "/app/installations", status: 401, body: rejection },
    {
      call: "the API call",
      match: "/repos/",
      status: 403,
      body: {
        message: "Resource not accessible by integration",
        documentation_url: rejection.documentation_url,
      },
    },
  ])("an App, when $call is refused", async ({ match, status, body }) => {
    env.github.failNext(1, status, { echo: true, body, match: (r) => r.path.includes(match) });
    const outputs = await outputsOf({ GITHUB_APP_CREDENTIALS: env.appCredentials }, () =>
      githubGetRepo({ repo: "acme/public", endpoint: env.github.url }),
    );
    expect(outputs["inspect(error, { depth: Infinity })"]).toContain(body.message);
    const secrets: Record<string, string> = { PRIVATE_KEY: env.appCredentials.PRIVATE_KEY };
    // What the client sent is a credential too: the App's JWT, the installation token.
    for (const [i, request] of env.github.requests.entries()) {
      const sent = /^(?:token|bearer) (.+)$/i.exec(String(request.headers.authorization ?? ""))?.[1];
      if (sent) secrets[`credential sent in request ${i}`] = sent;
    }
    expect(Object.keys(secrets).length).toBeGreaterThan(1);
    expect(findSecretTraces(outputs, secrets)).toEqual([]);
  });
});

import { flow } from "@tributary/flow";
import { failureOutputs, findSecretTraces } from "@tributary/testing";
import { describe, expect, it } from "vitest";
import { useGoogle } from "../test/helpers.js";
import { gcsDownload } from "./index.js";

const env = useGoogle();

/** Runs `call` in a flow run given `secrets`, and returns every text its failure produced. */
const outputsOf = (secrets: Record<string, unknown>, call: () => Promise<unknown>) =>
  failureOutputs(
    (body, sink) => flow({ name: "no-leak", logger: { level: "debug", sink } }, body).run({ secrets }),
    call,
  );

const kinds = [
  {
    kind: "a service account key",
    credentials: () => env.key() as unknown as Record<string, string>,
    secretFields: ["private_key"],
  },
  {
    kind: "an authorized_user credential",
    credentials: () => env.google().createAuthorizedUser() as unknown as Record<string, string>,
    secretFields: ["refresh_token", "client_secret"],
  },
];
const refusals = [
  {
    refused: "the token grant",
    match: (path: string) => path.includes("/token"),
    status: 400,
    times: 1,
    body: { error: "invalid_grant", error_description: "Invalid grant: account not found" },
    shown: "invalid_grant",
  },
  {
    refused: "the storage call",
    match: (path: string) => !path.includes("/token"),
    status: 401,
    // The token is refreshed and the call retried after a 401 (by google-auth-library, then by us).
    times: 3,
    body: { error: { code: 401, message: "Invalid Credentials", status: "UNAUTHENTICATED" } },
    shown: "Invalid Credentials",
  },
];

describe("no credential in any output when Google refuses it with a body that echoes the request", () => {
  for (const { kind, credentials, secretFields } of kinds) {
    it.each(refusals)(`${kind}, when $refused is refused`, async ({ match, status, times, body, shown }) => {
      // Several times: the leak the issue found in the refresh-token grant showed in 80 tries of 80.
      for (let attempt = 0; attempt < 3; attempt++) {
        const value = credentials();
        env.google().reset();
        env.google().failNext(times, status, { echo: true, body, match: (r) => match(r.path) });
        const outputs = await outputsOf({ GCP_CREDENTIALS: value }, () =>
          gcsDownload({ endpoint: env.google().url, bucket: env.bucket, key: `missing-${attempt}` }),
        );
        expect(outputs["inspect(error, { depth: Infinity })"]).toContain(shown);
        const secrets = Object.fromEntries(secretFields.map((field) => [field, value[field] as string]));
        // The access token the client sent (and the stand-in echoed) is a credential too.
        for (const request of env.google().requests) {
          const bearer = /^Bearer (.+)$/.exec(String(request.headers.authorization ?? ""))?.[1];
          if (bearer) secrets[`access token ${request.path}`] = bearer;
        }
        expect(findSecretTraces(outputs, secrets)).toEqual([]);
      }
    });
  }
});

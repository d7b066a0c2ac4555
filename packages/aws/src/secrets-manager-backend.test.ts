import { resolveSecret, SecretBackendError, withSecrets } from "@tributary/auth";
import {
  type AwsKeyPair,
  awsJsonErrorReply,
  randomKeyPair,
  type SecretsManagerStandIn,
  startSecretsManagerStandIn,
} from "@tributary/testing";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { cleanEnv } from "../test/helpers.js";
import { awsSecretsManagerBackend } from "./index.js";

let sm: SecretsManagerStandIn;
let reader: AwsKeyPair;
let denied: AwsKeyPair;
let dropHome: () => Promise<void>;

beforeAll(async () => {
  reader = randomKeyPair();
  denied = randomKeyPair();
  sm = await startSecretsManagerStandIn({
    keyPairs: [reader, denied],
    authorize: ({ accessKeyId }) => accessKeyId !== denied.accessKeyId,
    secrets: { "app/SLACK_BOT_TOKEN": "xoxb-1-2-abc", "app/TEXT": "plain text" },
  });
});
afterAll(() => sm.close());
beforeEach(async () => {
  dropHome = await cleanEnv();
  sm.reset();
});
afterEach(() => dropHome());

const backend = (extra: Parameters<typeof awsSecretsManagerBackend>[0] = {}) =>
  awsSecretsManagerBackend({ endpoint: sm.url, credentials: reader, prefix: "app/", ...extra });

describe("awsSecretsManagerBackend", () => {
  it("reads SecretString under the prefix, and says which backend it is", async () => {
    const b = backend({ region: "eu-west-1" });
    expect(await b.get("TEXT")).toBe("plain text");
    expect(b.describe()).toBe(`aws-secrets-manager eu-west-1 at ${sm.url} prefix app/`);
  });

  it("feeds the resolution order for a declared name, with the backend as the source", async () => {
    const resolution = await withSecrets({}, () => resolveSecret("SLACK_BOT_TOKEN"), {
      declare: ["SLACK_BOT_TOKEN"],
      backends: [backend()],
    });
    expect(resolution.value).toBe("xoxb-1-2-abc");
    expect(resolution.source).toMatchObject({ kind: "backend" });
    expect(resolution.source.detail).toContain("aws-secrets-manager");
  });

  it("names its own credential as the backend's in the run's resolutions, not as the flow's argument", async () => {
    const seen: string[] = [];
    const own = awsSecretsManagerBackend({
      endpoint: sm.url,
      prefix: "app/",
      credentials: { ACCESS_KEY: reader.accessKeyId, SECRET_ACCESS_KEY: reader.secretAccessKey },
    });
    await withSecrets({}, () => resolveSecret("SLACK_BOT_TOKEN"), {
      declare: ["SLACK_BOT_TOKEN"],
      backends: [own],
      onResolve: (name, source) => seen.push(`${name} from ${source.kind} (${source.detail})`),
    });
    expect(seen).toContain("AWS_CREDENTIALS from argument (awsSecretsManagerBackend({ credentials }))");
    expect(seen.join("\n")).not.toContain("(credentials)");
  });

  it("answers undefined for a secret it does not have", async () => {
    expect(await backend().get("NOT_THERE")).toBeUndefined();
  });

  it("reads a secret once per run", async () => {
    const b = backend();
    const before = sm.reads.get("app/TEXT") ?? 0;
    await withSecrets({}, async () => {
      await b.get("TEXT");
      await b.get("TEXT");
    });
    await withSecrets({}, () => b.get("TEXT"));
    expect((sm.reads.get("app/TEXT") ?? 0) - before).toBe(2);
  });

  it.each([
    {
      what: "access denied",
      make: () => backend({ credentials: denied }),
      code: "SECRET_BACKEND_ACCESS_DENIED",
      retryable: false,
    },
    {
      what: "a wrong secret key",
      make: () => backend({ credentials: { ...reader, secretAccessKey: randomKeyPair().secretAccessKey } }),
      code: "SECRET_BACKEND_CREDENTIAL_REJECTED",
      retryable: false,
    },
    {
      what: "an unknown access key",
      make: () => backend({ credentials: randomKeyPair() }),
      code: "SECRET_BACKEND_CREDENTIAL_REJECTED",
      retryable: false,
    },
  ])(
    "turns $what into a SecretBackendError naming the backend and key",
    async ({ make, code, retryable }) => {
      const error = await make()
        .get("TEXT")
        .catch((e) => e);
      expect(SecretBackendError.isInstance(error)).toBe(true);
      expect(error.code).toBe(code);
      expect(error.retryable).toBe(retryable);
      expect(error.key).toBe("TEXT");
      expect(error.backend).toContain("aws-secrets-manager");
      expect(error.message).toContain("app/TEXT");
    },
  );

  it("retries throttling, and past the attempts says so with a retryable error", async () => {
    const throttle = { ...awsJsonErrorReply("ThrottlingException", "Rate exceeded") };
    sm.failNext(1, 400, throttle);
    expect(await backend({ maxAttempts: 2 }).get("TEXT")).toBe("plain text");
    expect(sm.requests.length).toBe(2);

    sm.failNext(2, 400, throttle);
    const error = await backend({ maxAttempts: 2 })
      .get("TEXT")
      .catch((e) => e);
    expect(error.code).toBe("SECRET_BACKEND_THROTTLED");
    expect(error.retryable).toBe(true);
  });
});

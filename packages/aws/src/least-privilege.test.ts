import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { flow, task } from "@tributary/flow";
import { createOidcIssuer, type S3StandIn, startS3StandIn } from "@tributary/testing";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { asSecret, cleanEnv } from "../test/helpers.js";
import { s3Client, s3Copy, s3Delete, s3Download, s3Exists, s3List, s3Upload } from "./index.js";

const oidc = createOidcIssuer();
const AUDIENCE = "sts.amazonaws.com";
const ROLE_ARN = "arn:aws:iam::123456789012:role/etl-runner";

let s3: S3StandIn;
let dropHome: () => Promise<void>;

beforeAll(async () => {
  s3 = await startS3StandIn({
    buckets: ["exports", "other"],
    sts: { webIdentity: { publicKey: oidc.publicKey, audience: AUDIENCE } },
  });
});
afterAll(async () => {
  await s3?.close();
});
beforeEach(async () => {
  dropHome = await cleanEnv();
});
afterEach(async () => {
  await dropHome();
});

// Each call a distinct credential (tokens minted in the same second would otherwise be equal, and share a cache).
let minted = 0;
const role = () => ({
  ROLE_ARN,
  WEB_IDENTITY_TOKEN: oidc.token({ subject: "etl", audience: AUDIENCE, claims: { jti: `t${++minted}` } }),
});
const at = (credentials: object) => ({
  endpoint: s3.url,
  forcePathStyle: true,
  stsEndpoint: s3.url,
  credentials,
  leastPrivilege: true,
});

/** An S3 client signed with the temporary key the last assumption issued: what a scoped task holds. */
function lastIssuedClient(): S3Client {
  const id = s3.assumedRoles.at(-1)?.accessKeyId;
  const key = s3.keyPairs.find((k) => k.accessKeyId === id);
  if (!key) throw new Error("no assumed role yet");
  return new S3Client({ endpoint: s3.url, forcePathStyle: true, region: "us-east-1", credentials: key });
}

const denied = (p: Promise<unknown>) =>
  p.then(
    () => "allowed",
    (e: { name?: string }) => e.name,
  );

describe("leastPrivilege on S3 tasks with a role", () => {
  it("scopes an upload's credentials to its one key: the task works, the same credentials touch nothing else", async () => {
    const creds = role();
    await s3Upload({ ...at(creds), bucket: "exports", key: "2026/a.csv", body: "a" });
    expect((await s3.readObject("exports", "2026/a.csv"))?.toString()).toBe("a");
    expect(s3.assumedRoles.at(-1)?.policy).toBeDefined();
    const scoped = lastIssuedClient();
    const put = (Bucket: string, Key: string) =>
      denied(scoped.send(new PutObjectCommand({ Bucket, Key, Body: "a" })));
    expect(await put("exports", "2026/a.csv")).toBe("allowed");
    expect(await put("exports", "2026/b.csv")).toBe("AccessDenied");
    expect(await put("other", "2026/a.csv")).toBe("AccessDenied");
    expect(await denied(scoped.send(new GetObjectCommand({ Bucket: "exports", Key: "2026/a.csv" })))).toBe(
      "AccessDenied",
    );
  });

  it("scopes a listing to its prefix", async () => {
    const listed = await s3List({ ...at(role()), bucket: "exports", prefix: "2026/" });
    expect(listed.objects.map((o) => o.key)).toContain("2026/a.csv");
    const scoped = lastIssuedClient();
    const list = (Prefix: string) =>
      denied(scoped.send(new ListObjectsV2Command({ Bucket: "exports", Prefix })));
    expect(await list("2026/")).toBe("allowed");
    expect(await list("")).toBe("AccessDenied");
    expect(await list("2025/")).toBe("AccessDenied");
  });

  it("gives a copy read on its source and write on its target only", async () => {
    await s3Copy({
      ...at(role()),
      from: { bucket: "exports", key: "2026/a.csv" },
      to: { bucket: "other", key: "in/a.csv" },
    });
    expect((await s3.readObject("other", "in/a.csv"))?.toString()).toBe("a");
    const scoped = lastIssuedClient();
    expect(
      await denied(scoped.send(new PutObjectCommand({ Bucket: "exports", Key: "2026/a.csv", Body: "z" }))),
    ).toBe("AccessDenied");
  });

  it("caches scoped credentials per scope: one exchange per key, whatever the number of calls", async () => {
    const creds = role();
    const before = s3.assumedRoles.length;
    for (let i = 0; i < 5; i++)
      expect(await s3Exists({ ...at(creds), bucket: "exports", key: "2026/a.csv" })).toBe(true);
    expect(s3.assumedRoles.length - before).toBe(1);
    // A download of the same key needs the same s3:GetObject: the same scope, no new exchange.
    await s3Download({ ...at(creds), bucket: "exports", key: "2026/a.csv", as: "buffer" });
    expect(s3.assumedRoles.length - before).toBe(1);
    expect(await s3Exists({ ...at(creds), bucket: "exports", key: "2026/c.csv" })).toBe(false);
    expect(s3.assumedRoles.length - before).toBe(2);
  });

  it("logs the scope once per run, and says once that static keys cannot be scoped (then runs with them)", async () => {
    const lines: string[] = [];
    const keys = asSecret(s3.keyPairs[0] as (typeof s3.keyPairs)[0]);
    const scopedCreds = role();
    const etl = flow({ name: "etl", logger: { sink: (line) => lines.push(line) } }, async () => {
      for (const key of ["2026/a.csv", "2026/b.csv"]) await s3Exists({ ...at(keys), bucket: "exports", key });
      for (let i = 0; i < 2; i++)
        await s3Exists({ ...at(scopedCreds), bucket: "exports", key: "2026/a.csv" });
    });
    const report = await etl.run();
    expect(report.state, JSON.stringify(report.error)).toBe("completed");
    const unscoped = lines.filter((l) => l.includes("cannot be scoped"));
    expect(unscoped).toHaveLength(1);
    expect(unscoped[0]).toContain("AWS_CREDENTIALS");
    expect(unscoped[0]).not.toContain(s3.keyPairs[0]?.secretAccessKey);
    const scoped = lines.filter((l) => l.includes("scoped to"));
    expect(scoped).toHaveLength(1);
    expect(scoped[0]).toContain(
      "AWS_CREDENTIALS from argument (credentials, scoped to s3:GetObject on exports/2026/a.csv)",
    );
  });

  it.each([
    [
      "a client from s3Client",
      () => s3Client(at(role())),
      "a client from s3Client or s3Storage serves any call",
    ],
    [
      "a ready client given to a task",
      () => s3Exists({ ...at(role()), client: lastIssuedClient(), bucket: "exports", key: "2026/a.csv" }),
      "a ready client is used as it is",
    ],
  ])("%s cannot be scoped: said once per run, and it still works", async (_, call, why) => {
    const lines: string[] = [];
    const step = task({ name: "step" }, async (): Promise<unknown> => call());
    const etl = flow({ name: "etl", logger: { sink: (line) => lines.push(line) } }, async () => {
      await step();
      await step();
    });
    const report = await etl.run();
    expect(report.state, JSON.stringify(report.error)).toBe("completed");
    const said = lines.filter((l) => l.includes("cannot be scoped"));
    expect(said).toHaveLength(1);
    expect(said[0]).toContain(why);
  });

  it("a flow's leastPrivilege applies to every S3 task in it; a call's own option wins", async () => {
    const creds = role();
    const { leastPrivilege: _, ...plain } = at(creds);
    const etl = flow({ name: "scoped-etl", leastPrivilege: true }, async () => {
      await s3Exists({ ...plain, bucket: "exports", key: "2026/flow.csv" });
      const scopedPolicy = s3.assumedRoles.at(-1)?.policy;
      await s3Exists({ ...plain, leastPrivilege: false, bucket: "exports", key: "2026/flow.csv" });
      return { scopedPolicy, last: s3.assumedRoles.at(-1)?.policy };
    });
    const report = await etl.run();
    expect(report.state, JSON.stringify(report.error)).toBe("completed");
    const result = report.result as { scopedPolicy?: unknown; last?: unknown };
    expect(JSON.stringify(result.scopedPolicy)).toContain("arn:aws:s3:::exports/2026/flow.csv");
    expect(result.last).toBeUndefined();
  });
});

describe("leastPrivilege on s3Delete", () => {
  const many = Array.from(
    { length: 60 },
    (_, i) => `del/many/${String(i).padStart(3, "0")}-${"x".repeat(20)}.csv`,
  );
  it.each([
    {
      what: "one key",
      call: { key: "del/a.csv" },
      gone: ["del/a.csv"],
      also: [],
      policy: "exports/del/a.csv",
    },
    {
      what: "one key that must exist (HeadObject needs s3:GetObject)",
      call: { key: "del/a.csv", mustExist: true },
      gone: ["del/a.csv"],
      also: [],
      policy: "exports/del/a.csv",
    },
    {
      what: "a few keys, each listed",
      call: { keys: ["del/a.csv", "del/c.csv"] },
      gone: ["del/a.csv", "del/c.csv"],
      also: [],
      policy: "exports/del/c.csv",
    },
    {
      what: "more keys than a session policy can list: the prefix they share",
      call: { keys: many },
      gone: many,
      also: ["del/many/0-not-listed.csv"],
      policy: "exports/del/many/0*",
    },
  ])(
    "$what: deletes its keys, and its credentials can delete nothing else",
    async ({ call, gone, also, policy }) => {
      const admin = new S3Client({
        endpoint: s3.url,
        forcePathStyle: true,
        region: "us-east-1",
        credentials: s3.keyPairs[0] as (typeof s3.keyPairs)[0],
      });
      const kept = ["del/b.csv", "del/many.csv"];
      for (const Key of [...gone, ...kept])
        await admin.send(new PutObjectCommand({ Bucket: "exports", Key, Body: "x" }));
      await admin.send(new PutObjectCommand({ Bucket: "other", Key: gone[0], Body: "x" }));

      const before = s3.assumedRoles.length;
      const result = await s3Delete({ ...at(role()), bucket: "exports", ...call });
      expect(result.deleted).toEqual(call.keys ?? [call.key]);
      expect(s3.assumedRoles.length - before).toBe(1);
      expect(JSON.stringify(s3.assumedRoles.at(-1)?.policy)).toContain(`arn:aws:s3:::${policy}`);
      for (const key of gone) expect(await s3.readObject("exports", key)).toBeUndefined();

      const scoped = lastIssuedClient();
      const del = (Bucket: string, Key: string) =>
        denied(scoped.send(new DeleteObjectCommand({ Bucket, Key })));
      for (const key of kept) expect(await del("exports", key)).toBe("AccessDenied");
      expect(await del("other", gone[0] as string)).toBe("AccessDenied");
      for (const key of also) expect(await del("exports", key)).toBe("allowed");
      const batch = await scoped.send(
        new DeleteObjectsCommand({
          Bucket: "exports",
          Delete: { Objects: kept.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      expect(batch.Errors?.map((e) => [e.Key, e.Code])).toEqual(kept.map((key) => [key, "AccessDenied"]));
      for (const key of kept) expect(await s3.readObject("exports", key)).toBeDefined();
      expect(await s3.readObject("other", gone[0] as string)).toBeDefined();
      await admin.send(
        new DeleteObjectsCommand({ Bucket: "exports", Delete: { Objects: kept.map((Key) => ({ Key })) } }),
      );
    },
  );
});

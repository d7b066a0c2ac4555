// Issue 17: the cost of least privilege on S3. A scoped task assumes its role with a session policy (one more STS
// exchange the first time it touches a key: the unscoped role is assumed once for every key); after that
// its credentials and client are cached per scope. Measured in-process against the S3 stand-in's STS:
// - the first call of a task on a new key, scoped and unscoped (median of BENCH_LP_ROUNDS, default 30);
// - the cached path of the 1,000th call: resolving credentials and the client for a task (s3Connection), scoped
//   and unscoped, per call (mean of 20,000 after 1,000 warm-up calls). Goal: ≤ 1 µs extra when cached.
import { clientCache } from "@tributary/auth";
import { s3Exists } from "@tributary/aws";
import { createOidcIssuer, startS3StandIn } from "@tributary/testing";
import { s3Connection } from "../packages/aws/src/s3-client.ts";
import { fmt, median } from "./stats.ts";

export default async function bench(): Promise<Record<string, string>> {
  const rounds = Number(process.env.BENCH_LP_ROUNDS ?? 30);
  const oidc = createOidcIssuer();
  const s3 = await startS3StandIn({
    buckets: ["bench"],
    sts: { webIdentity: { publicKey: oidc.publicKey, audience: "sts.amazonaws.com" } },
  });
  const info = console.info;
  console.info = () => {};
  try {
    const credentials = {
      ROLE_ARN: "arn:aws:iam::123456789012:role/bench",
      WEB_IDENTITY_TOKEN: oidc.token({ subject: "bench", audience: "sts.amazonaws.com", expiresIn: 3600 }),
    };
    const base = {
      endpoint: s3.url,
      forcePathStyle: true,
      stsEndpoint: s3.url,
      credentials,
      bucket: "bench",
    };
    // The unscoped role is assumed once for every key (warmed here); a scoped task pays one exchange per new scope.
    clientCache.clear();
    await s3Exists({ ...base, key: "warm", leastPrivilege: false });
    const first: Record<"scoped" | "unscoped", number[]> = { scoped: [], unscoped: [] };
    for (let i = 0; i < rounds; i++) {
      for (const side of i % 2 ? (["scoped", "unscoped"] as const) : (["unscoped", "scoped"] as const)) {
        const started = performance.now();
        await s3Exists({ ...base, key: `${side}-${i}`, leastPrivilege: side === "scoped" });
        first[side].push(performance.now() - started);
      }
    }
    const scopes = [{ actions: ["s3:GetObject"], bucket: "bench", key: "exports/2026/a.csv" }];
    const perCall = async (leastPrivilege: boolean): Promise<number> => {
      const options = { ...base, leastPrivilege };
      for (let i = 0; i < 1000; i++) await s3Connection(options, scopes);
      const n = 20_000;
      const started = performance.now();
      for (let i = 0; i < n; i++) await s3Connection(options, scopes);
      return ((performance.now() - started) * 1000) / n;
    };
    const cached: Record<"scoped" | "unscoped", number[]> = { scoped: [], unscoped: [] };
    for (let i = 0; i < 3; i++) {
      cached.unscoped.push(await perCall(false));
      cached.scoped.push(await perCall(true));
    }
    const extra = median(cached.scoped) - median(cached.unscoped);
    return {
      "first call on a new key, unscoped (role warm)": fmt(median(first.unscoped), "ms"),
      "first call on a new key, scoped (+1 STS call)": fmt(median(first.scoped), "ms"),
      "cached call, unscoped: s3Connection": fmt(median(cached.unscoped), "µs"),
      "cached call, scoped: s3Connection": fmt(median(cached.scoped), "µs"),
      "cached scoping cost (goal ≤ 1 µs)": fmt(extra, "µs"),
    };
  } finally {
    console.info = info;
    await s3.close();
  }
}

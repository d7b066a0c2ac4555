// Issue 17: the cost of least privilege on S3, Cloud Storage and GitHub. A scoped task gets credentials narrowed to
// what it touches, which costs one more exchange the first time it touches a new scope (S3: STS AssumeRole* with a
// session policy; GCS: a downscoping exchange at Google STS; GitHub: an installation token restricted to one
// repository); after that its credentials and client are cached per scope. Measured in-process against the
// stand-ins (S3 with STS, Google with STS, GitHub with an App):
// - the first call of a task on a new scope, scoped and unscoped (median of BENCH_LP_ROUNDS, default 30; the
//   unscoped credential is warm, as it is after a run's first task);
// - the cached path of the 1,000th call: resolving credentials and the client for a task (s3Connection, gcsClient,
//   connectGitHub), scoped and unscoped, per call (median of 5 means of 20,000 after 1,000 warm-up calls, the
//   sides taken in turn; the extra cost is the median of the 5 paired differences). Goal: ≤ 1 µs extra when cached.
import { clientCache } from "@tributary/auth";
import { s3Exists } from "@tributary/aws";
import { gcsClient, gcsExists } from "@tributary/gcp";
import { githubGetRepo } from "@tributary/github";
import {
  createOidcIssuer,
  generateGitHubApp,
  startGitHubStandIn,
  startGoogleStandIn,
  startS3StandIn,
} from "@tributary/testing";
import { s3Connection } from "../packages/aws/src/s3-client.ts";
import { connectGitHub } from "../packages/github/src/github-client.ts";
import { fmt, median } from "./stats.ts";

type Side = "scoped" | "unscoped";
const rounds = Number(process.env.BENCH_LP_ROUNDS ?? 30);

/** The first call on a new scope, each side in turn (the order swapped every round). */
async function firstCalls(
  call: (side: Side, round: number) => Promise<unknown>,
): Promise<Record<Side, number>> {
  const times: Record<Side, number[]> = { scoped: [], unscoped: [] };
  for (let i = 0; i < rounds; i++) {
    for (const side of i % 2 ? (["scoped", "unscoped"] as const) : (["unscoped", "scoped"] as const)) {
      const started = performance.now();
      await call(side, i);
      times[side].push(performance.now() - started);
    }
  }
  return { scoped: median(times.scoped), unscoped: median(times.unscoped) };
}

/** µs per cached call, each side five times in turn; `extra` is the median of the five paired differences. */
async function cachedCalls(call: (side: Side) => Promise<unknown>): Promise<Record<Side | "extra", number>> {
  const perCall = async (side: Side): Promise<number> => {
    for (let i = 0; i < 1000; i++) await call(side);
    const n = 20_000;
    const started = performance.now();
    for (let i = 0; i < n; i++) await call(side);
    return ((performance.now() - started) * 1000) / n;
  };
  const times: Record<Side, number[]> = { scoped: [], unscoped: [] };
  const extra: number[] = [];
  for (let i = 0; i < 5; i++) {
    times.unscoped.push(await perCall("unscoped"));
    times.scoped.push(await perCall("scoped"));
    extra.push((times.scoped.at(-1) as number) - (times.unscoped.at(-1) as number));
  }
  return { scoped: median(times.scoped), unscoped: median(times.unscoped), extra: median(extra) };
}

function figures(
  service: string,
  what: string,
  connection: string,
  first: Record<Side, number>,
  cached: Record<Side | "extra", number>,
): Record<string, string> {
  return {
    [`${service}: first call, unscoped (warm)`]: fmt(first.unscoped, "ms"),
    [`${service}: first call, scoped (${what})`]: fmt(first.scoped, "ms"),
    [`${service}: cached call, unscoped (${connection})`]: fmt(cached.unscoped, "µs"),
    [`${service}: cached call, scoped`]: fmt(cached.scoped, "µs"),
    [`${service}: cached scoping cost (goal ≤ 1 µs)`]: fmt(cached.extra, "µs"),
  };
}

async function s3(): Promise<Record<string, string>> {
  const oidc = createOidcIssuer();
  const standIn = await startS3StandIn({
    buckets: ["bench"],
    sts: { webIdentity: { publicKey: oidc.publicKey, audience: "sts.amazonaws.com" } },
  });
  try {
    const credentials = {
      ROLE_ARN: "arn:aws:iam::123456789012:role/bench",
      WEB_IDENTITY_TOKEN: oidc.token({ subject: "bench", audience: "sts.amazonaws.com", expiresIn: 3600 }),
    };
    const base = { endpoint: standIn.url, forcePathStyle: true, stsEndpoint: standIn.url, credentials };
    // The unscoped role is assumed once for every key (warmed here); a scoped task pays one exchange per new scope.
    await s3Exists({ ...base, bucket: "bench", key: "warm", leastPrivilege: false });
    const first = await firstCalls((side, i) =>
      s3Exists({ ...base, bucket: "bench", key: `${side}-${i}`, leastPrivilege: side === "scoped" }),
    );
    const options = {
      scoped: { ...base, leastPrivilege: true },
      unscoped: { ...base, leastPrivilege: false },
    };
    const cached = await cachedCalls((side) =>
      // A task builds its scope on each call, as s3Exists does.
      s3Connection(options[side], [
        { actions: ["s3:GetObject"], bucket: "bench", key: "exports/2026/a.csv" },
      ]),
    );
    return figures("S3", "+1 STS AssumeRole*", "s3Connection", first, cached);
  } finally {
    await standIn.close();
  }
}

async function gcs(): Promise<Record<string, string>> {
  const google = await startGoogleStandIn();
  try {
    const key = await google.createServiceAccount();
    google.createBucket("bench");
    const base = { credentials: key, endpoint: google.url, stsEndpoint: google.stsUrl };
    await gcsExists({ ...base, bucket: "bench", key: "warm", leastPrivilege: false });
    const first = await firstCalls((side, i) =>
      gcsExists({ ...base, bucket: "bench", key: `${side}-${i}`, leastPrivilege: side === "scoped" }),
    );
    const options = {
      scoped: { ...base, leastPrivilege: true },
      unscoped: { ...base, leastPrivilege: false },
    };
    const cached = await cachedCalls((side) =>
      gcsClient(options[side], { bucket: "bench", object: "exports/2026/a.csv", access: "read" }),
    );
    return figures("GCS", "+1 STS downscoping", "gcsClient", first, cached);
  } finally {
    await google.close();
  }
}

async function github(): Promise<Record<string, string>> {
  const app = generateGitHubApp();
  const repos = Array.from({ length: rounds * 2 + 1 }, (_, i) => ({
    fullName: `acme/repo-${i}`,
    private: true,
  }));
  const standIn = await startGitHubStandIn({ apps: [app], repos });
  try {
    const base = {
      app: { APP_ID: app.id, PRIVATE_KEY: app.privateKey, INSTALLATION_ID: app.installationId },
      endpoint: standIn.url,
    };
    await githubGetRepo({ ...base, repo: `acme/repo-${rounds * 2}`, leastPrivilege: false });
    const first = await firstCalls((side, i) =>
      githubGetRepo({
        ...base,
        repo: `acme/repo-${side === "scoped" ? i : rounds + i}`,
        leastPrivilege: side === "scoped",
      }),
    );
    const options = {
      scoped: { ...base, leastPrivilege: true },
      unscoped: { ...base, leastPrivilege: false },
    };
    const cached = await cachedCalls((side) =>
      connectGitHub(options[side], { repo: "repo-0", permissions: { metadata: "read" } }),
    );
    return figures("GitHub", "+1 installation token", "connectGitHub", first, cached);
  } finally {
    await standIn.close();
  }
}

export default async function bench(): Promise<Record<string, string>> {
  const info = console.info;
  console.info = () => {};
  try {
    clientCache.clear();
    return { ...(await s3()), ...(await gcs()), ...(await github()) };
  } finally {
    console.info = info;
  }
}

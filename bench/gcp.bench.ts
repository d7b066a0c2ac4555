// Issue 5: gcsUpload / gcsDownload against the raw @googleapis/storage client (objects.insert with a media stream,
// objects.get alt=media piped to a file) on the same Google stand-in, in the same run. The stand-in runs in its own
// process, and each client run in a fresh process of its own, so the peak RSS reported is the client's alone.
// BENCH_GCP_BYTES sets the size (default 1 GiB). Also: the cold import time of @tributary/gcp.

import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { coldImportMs, spawnStandIn, writeRandomFile } from "./stats.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const gcpPackage = join(here, "..", "packages", "gcp");
const gcpDist = pathToFileURL(join(gcpPackage, "dist", "index.js")).href;
const testingDist = pathToFileURL(join(here, "..", "packages", "testing", "dist", "index.js")).href;

const STAND_IN = `
import { startGoogleStandIn } from ${JSON.stringify(testingDist)};
const google = await startGoogleStandIn();
const key = await google.createServiceAccount();
google.createBucket("bench-bucket");
process.stdout.write(JSON.stringify({ url: google.url, key }) + "\\n");
const stop = async () => { await google.close(); process.exit(0); };
process.stdin.on("end", stop);
process.stdin.resume();
process.on("SIGTERM", stop);
`;

/** One client run: upload the file, download it back; prints seconds and this process's peak RSS. */
const CLIENT = `
import { createReadStream, createWriteStream } from "node:fs";
import { open } from "node:fs/promises";
import { createRequire } from "node:module";
import { pipeline } from "node:stream/promises";
import { gcpAuth, gcsClient, gcsDownload, gcsUpload } from ${JSON.stringify(gcpDist)};
const { mode, url, key, source, target } = JSON.parse(process.env.BENCH_GCP_JOB);
const bucket = "bench-bucket";
const name = "bench/" + mode + ".bin";
const options = { credentials: key, endpoint: url };
let up, down, downSynced, upPeakMb;
if (mode === "ours") {
  // Warm up as the raw run does: modules loaded and a token in hand before the clock starts.
  await gcsUpload({ ...options, bucket, key: "bench/warm-up", body: "x" });
  let t = performance.now();
  await gcsUpload({ ...options, bucket, key: name, file: source });
  up = (performance.now() - t) / 1000;
  upPeakMb = process.resourceUsage().maxRSS / 1024;
  t = performance.now();
  await gcsDownload({ ...options, bucket, key: name, destination: target });
  down = (performance.now() - t) / 1000;
} else {
  // The raw generated client, with the same credential (the token exchange is not what is measured).
  const { client } = await gcpAuth(options);
  const { storage } = createRequire(${JSON.stringify(join(gcpPackage, "package.json"))})("@googleapis/storage");
  const raw = storage({ version: "v1", auth: client, rootUrl: url + "/" });
  await client.getAccessToken();
  let t = performance.now();
  await raw.objects.insert({ bucket, name, media: { body: createReadStream(source) } }, { rootUrl: url + "/" });
  up = (performance.now() - t) / 1000;
  upPeakMb = process.resourceUsage().maxRSS / 1024;
  t = performance.now();
  const res = await raw.objects.get({ bucket, object: name, alt: "media" }, { responseType: "stream" });
  await pipeline(res.data, createWriteStream(target));
  down = (performance.now() - t) / 1000;
  // What gcsDownload also does before its rename: flush the file to disk.
  const handle = await open(target, "r+");
  await handle.sync();
  await handle.close();
  downSynced = (performance.now() - t) / 1000;
}
process.stdout.write(JSON.stringify({ up, down, downSynced: downSynced ?? down, upPeakMb, peakMb: process.resourceUsage().maxRSS / 1024 }) + "\\n");
`;

function startStandIn() {
  return spawnStandIn<{ url: string; key: object }>(["--input-type=module", "-e", STAND_IN]);
}

type ClientRun = { up: number; down: number; downSynced: number; upPeakMb: number; peakMb: number };

function runClient(job: object): ClientRun {
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", CLIENT], {
    env: { ...process.env, BENCH_GCP_JOB: JSON.stringify(job) },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 1024 * 1024,
  });
  return JSON.parse(out.trim().split("\n").at(-1) as string);
}

export default async function gcpBench(): Promise<Record<string, number | string>> {
  const bytes = Number(process.env.BENCH_GCP_BYTES ?? 1024 ** 3);
  const dir = await mkdtemp(join(tmpdir(), "tributary-gcp-bench-"));
  const source = join(dir, "source.bin");
  await writeRandomFile(source, bytes);
  const standIn = await startStandIn();
  try {
    const job = (mode: string) => ({
      mode,
      url: standIn.url,
      key: standIn.key,
      source,
      target: join(dir, `${mode}.out`),
    });
    // Raw first, then ours, then both again; the better of two runs of each is kept.
    const results = { raw: [] as ClientRun[], ours: [] as ClientRun[] };
    for (let round = 0; round < 2; round++) {
      results.raw.push(runClient(job("raw")));
      await rm(join(dir, "raw.out"), { force: true });
      results.ours.push(runClient(job("ours")));
      await rm(join(dir, "ours.out"), { force: true });
    }
    const best = (runs: ClientRun[], k: "up" | "down" | "downSynced") => Math.min(...runs.map((r) => r[k]));
    const mbps = (seconds: number) => bytes / 1024 / 1024 / seconds;
    const figures: Record<string, number | string> = {
      bytes,
      "upload MB/s (gcsUpload)": Number(mbps(best(results.ours, "up")).toFixed(1)),
      "upload MB/s (raw @googleapis/storage)": Number(mbps(best(results.raw, "up")).toFixed(1)),
      "upload throughput ratio (ours / raw)": Number(
        (best(results.raw, "up") / best(results.ours, "up")).toFixed(2),
      ),
      "download MB/s (gcsDownload)": Number(mbps(best(results.ours, "down")).toFixed(1)),
      "download MB/s (raw @googleapis/storage)": Number(mbps(best(results.raw, "down")).toFixed(1)),
      "download throughput ratio (ours / raw)": Number(
        (best(results.raw, "down") / best(results.ours, "down")).toFixed(2),
      ),
      "peak RSS MB after the upload (ours / raw)": `${Math.max(...results.ours.map((r) => r.upPeakMb)).toFixed(0)} / ${Math.max(...results.raw.map((r) => r.upPeakMb)).toFixed(0)}`,
      "peak RSS MB (ours, upload + download)": Number(
        Math.max(...results.ours.map((r) => r.peakMb)).toFixed(0),
      ),
      "peak RSS MB (raw, upload + download)": Number(
        Math.max(...results.raw.map((r) => r.peakMb)).toFixed(0),
      ),
      "cold import ms (@tributary/gcp)": Number(coldImportMs(gcpDist, 3).toFixed(0)),
    };
    return figures;
  } finally {
    standIn.child.stdin?.end();
    await new Promise((resolve) => standIn.child.once("exit", resolve));
    await rm(dir, { recursive: true, force: true });
  }
}

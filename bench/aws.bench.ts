// Issue 4: s3Upload / s3Download against the raw SDK (lib-storage Upload, GetObject piped to a file) on the same
// S3 stand-in, run in a child process so that only the client's memory is measured. BENCH_AWS_BYTES sets the size
// (default 1 GiB), BENCH_AWS_ROUNDS the rounds (default 3; ours and raw alternate who goes first, medians reported:
// the disk and CPUs are shared, so single runs are noisy).
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, open, rm, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { s3Download, s3Upload } from "@tributary/aws";
import { fmt, median } from "./stats.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const sdk = createRequire(join(here, "..", "packages", "aws", "package.json"));
const { S3Client, GetObjectCommand } = sdk("@aws-sdk/client-s3") as typeof import("@aws-sdk/client-s3");
const { Upload } = sdk("@aws-sdk/lib-storage") as typeof import("@aws-sdk/lib-storage");

type KeyPair = { accessKeyId: string; secretAccessKey: string };

async function startChild(): Promise<{ child: ChildProcess; url: string; keyPair: KeyPair }> {
  const child = spawn(process.execPath, ["--import", "tsx", join(here, "aws-stand-in.ts")], {
    stdio: ["pipe", "pipe", "inherit"],
    cwd: join(here, ".."),
  });
  const line = await new Promise<string>((resolve, reject) => {
    let buffer = "";
    child.stdout?.on("data", (d) => {
      buffer += String(d);
      const nl = buffer.indexOf("\n");
      if (nl >= 0) resolve(buffer.slice(0, nl));
    });
    child.once("exit", (code) => reject(new Error(`the stand-in process exited with ${code}`)));
  });
  return { child, ...(JSON.parse(line) as { url: string; keyPair: KeyPair }) };
}

async function writeSource(path: string, bytes: number): Promise<void> {
  const block = randomBytes(1024 * 1024);
  const handle = await open(path, "w");
  try {
    for (let written = 0; written < bytes; ) {
      const n = Math.min(block.length, bytes - written);
      await handle.write(block, 0, n);
      written += n;
    }
  } finally {
    await handle.close();
  }
}

type Measured = { seconds: number; peakMb: number };

/** Runs `fn`, sampling this process's RSS; returns seconds taken and the peak RSS in MB. */
async function measure(fn: () => Promise<unknown>): Promise<Measured> {
  globalThis.gc?.();
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 10);
  const start = performance.now();
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, process.memoryUsage.rss());
  return { seconds: (performance.now() - start) / 1000, peakMb: peak / 1024 / 1024 };
}

export default async function bench(): Promise<Record<string, string>> {
  const bytes = Number(process.env.BENCH_AWS_BYTES ?? 1024 * 1024 * 1024);
  const dir = await mkdtemp(join(tmpdir(), "tributary-aws-bench-"));
  process.env.TRIBUTARY_HOME = dir;
  const { child, url, keyPair } = await startChild();
  try {
    const source = join(dir, "source.bin");
    await writeSource(source, bytes);
    const conn = { endpoint: url, forcePathStyle: true, region: "us-east-1", credentials: keyPair };
    const raw = new S3Client(conn);
    const bucket = "bench";

    const rawUpload = (key: string) =>
      new Upload({
        client: raw,
        params: { Bucket: bucket, Key: key, Body: createReadStream(source) },
      }).done();
    const rawDownload = async (key: string, destination: string) => {
      const out = await raw.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      await pipeline(out.Body as NodeJS.ReadableStream, createWriteStream(destination));
    };
    // Warm both paths (clients, sockets, JIT) on a small object.
    const warm = join(dir, "warm.bin");
    await writeSource(warm, 1024 * 1024);
    await s3Upload({ ...conn, bucket, key: "warm", file: warm });
    await s3Download({ ...conn, bucket, key: "warm", destination: join(dir, "warm-out.bin") });
    await new Upload({
      client: raw,
      params: { Bucket: bucket, Key: "warm-raw", Body: createReadStream(warm) },
    }).done();
    await rawDownload("warm-raw", join(dir, "warm-raw-out.bin"));

    const rounds = Number(process.env.BENCH_AWS_ROUNDS ?? 3);
    const oursOut = join(dir, "ours-out.bin");
    const rawOut = join(dir, "raw-out.bin");
    const up = { ours: [] as Measured[], raw: [] as Measured[] };
    const down = { ours: [] as Measured[], raw: [] as Measured[] };
    const pair = async (first: () => Promise<void>, second: () => Promise<void>, swap: boolean) => {
      if (swap) {
        await second();
        await first();
      } else {
        await first();
        await second();
      }
    };
    for (let round = 0; round < rounds; round++) {
      const swap = round % 2 === 1;
      await pair(
        async () =>
          void up.ours.push(await measure(() => s3Upload({ ...conn, bucket, key: "ours", file: source }))),
        async () => void up.raw.push(await measure(() => rawUpload("raw"))),
        swap,
      );
      await pair(
        async () => {
          down.ours.push(
            await measure(() => s3Download({ ...conn, bucket, key: "ours", destination: oursOut })),
          );
          if ((await stat(oursOut)).size !== bytes) throw new Error("s3Download wrote the wrong size");
          await rm(oursOut);
        },
        async () => {
          down.raw.push(await measure(() => rawDownload("raw", rawOut)));
          await rm(rawOut);
        },
        swap,
      );
    }
    raw.destroy();
    const secs = (list: Measured[]) => median(list.map((m) => m.seconds));
    const peak = (list: Measured[]) => Math.max(...list.map((m) => m.peakMb));
    const oursUp = { seconds: secs(up.ours), peakMb: peak(up.ours) };
    const rawUp = { seconds: secs(up.raw), peakMb: peak(up.raw) };
    const oursDown = { seconds: secs(down.ours), peakMb: peak(down.ours) };
    const rawDown = { seconds: secs(down.raw), peakMb: peak(down.raw) };

    const mbps = (s: number) => bytes / 1024 / 1024 / s;
    const size = `${(bytes / 1024 / 1024).toFixed(0)} MiB, median of ${rounds}`;
    return {
      [`upload ${size}: s3Upload`]: `${fmt(mbps(oursUp.seconds), "MiB/s", 0)} (${oursUp.seconds.toFixed(1)} s)`,
      [`upload ${size}: raw SDK Upload`]: `${fmt(mbps(rawUp.seconds), "MiB/s", 0)} (${rawUp.seconds.toFixed(1)} s)`,
      "upload throughput ratio ours/raw (goal ≥ 0.9)": (rawUp.seconds / oursUp.seconds).toFixed(2),
      [`download ${size}: s3Download`]: `${fmt(mbps(oursDown.seconds), "MiB/s", 0)} (${oursDown.seconds.toFixed(1)} s)`,
      [`download ${size}: raw SDK GetObject → file`]: `${fmt(mbps(rawDown.seconds), "MiB/s", 0)} (${rawDown.seconds.toFixed(1)} s)`,
      "download throughput ratio ours/raw (goal ≥ 0.9)": (rawDown.seconds / oursDown.seconds).toFixed(2),
      "peak RSS during s3Upload (goal ≤ 200 MB)": fmt(oursUp.peakMb, "MB", 0),
      "peak RSS during s3Download (goal ≤ 200 MB)": fmt(oursDown.peakMb, "MB", 0),
      "peak RSS during raw SDK upload / download": `${rawUp.peakMb.toFixed(0)} / ${rawDown.peakMb.toFixed(0)} MB`,
    };
  } finally {
    child.stdin?.end();
    await new Promise((r) => child.once("exit", r));
    await rm(dir, { recursive: true, force: true });
  }
}

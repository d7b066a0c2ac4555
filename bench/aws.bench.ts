// Issue 4: s3Upload / s3Download against the raw SDK (lib-storage Upload, GetObject piped to a file) on the same
// S3 stand-in. The stand-in runs in a child process, and so does each measured transfer (bench/aws-client.mjs), so
// each peak RSS is that transfer's own (the kernel's maxRSS). BENCH_AWS_BYTES sets the size (default 1 GiB),
// BENCH_AWS_ROUNDS the rounds (default 5; ours and raw alternate who goes first and medians are reported: the
// disk and CPUs are shared, so single runs are noisy).
import { execFile } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { fmt, median, spawnStandIn, writeRandomFile } from "./stats.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const run = promisify(execFile);

type KeyPair = { accessKeyId: string; secretAccessKey: string };
type Measured = { seconds: number; warmRssMb: number; maxRssMb: number };

function startStandIn() {
  return spawnStandIn<{ url: string; keyPair: KeyPair }>(["--import", "tsx", join(here, "aws-stand-in.ts")], {
    cwd: join(here, ".."),
  });
}

export default async function bench(): Promise<Record<string, string>> {
  const bytes = Number(process.env.BENCH_AWS_BYTES ?? 1024 * 1024 * 1024);
  const rounds = Number(process.env.BENCH_AWS_ROUNDS ?? 5);
  const dir = await mkdtemp(join(tmpdir(), "tributary-aws-bench-"));
  const { child, url, keyPair } = await startStandIn();
  try {
    const file = join(dir, "source.bin");
    const warmFile = join(dir, "warm.bin");
    await writeRandomFile(file, bytes);
    await writeRandomFile(warmFile, 1024 * 1024);
    const transfer = async (side: string, op: string, key: string): Promise<Measured> => {
      const destination = join(dir, `${side}-out.bin`);
      const config = { url, keyPair, bucket: "bench", key, file, warmFile, destination };
      const { stdout } = await run(
        process.execPath,
        [join(here, "aws-client.mjs"), side, op, JSON.stringify(config)],
        { cwd: join(here, ".."), env: { ...process.env, TRIBUTARY_HOME: dir } },
      );
      if (op === "download") {
        if ((await stat(destination)).size !== bytes)
          throw new Error(`${side} download wrote the wrong size`);
        await rm(destination);
      }
      return JSON.parse(stdout.trim().split("\n").at(-1) as string) as Measured;
    };
    const results: Record<string, Measured[]> = {};
    const add = async (name: string, side: string, op: string, key: string) => {
      const m = await transfer(side, op, key);
      results[name] = [...(results[name] ?? []), m];
    };
    for (let round = 0; round < rounds; round++) {
      const uploads = [
        () => add("up-ours", "ours", "upload", "ours"),
        () => add("up-raw", "raw", "upload", "raw"),
      ];
      const downloads = [
        () => add("down-ours", "ours", "download", "ours"),
        () => add("down-raw", "raw", "download", "raw"),
        () => add("down-raw-fsync", "raw-fsync", "download", "raw"),
      ];
      if (round % 2 === 1) {
        uploads.reverse();
        downloads.reverse();
      }
      for (const step of [...uploads, ...downloads]) await step();
    }
    const secs = (name: string) => median((results[name] ?? []).map((m) => m.seconds));
    // The median of the rounds' peaks (one round's peak moves by several MB with the GC's timing), and the highest.
    const peaks = (name: string) => (results[name] ?? []).map((m) => m.maxRssMb);
    const rss = (name: string) => median(peaks(name));
    const rssMax = (name: string) => Math.max(...peaks(name));
    const warm = (name: string) => median((results[name] ?? []).map((m) => m.warmRssMb));
    const mbps = (name: string) =>
      `${fmt(bytes / 1024 / 1024 / secs(name), "MiB/s", 0)} (${secs(name).toFixed(1)} s)`;
    const size = `${(bytes / 1024 / 1024).toFixed(0)} MiB, median of ${rounds}`;
    return {
      [`upload ${size}: s3Upload`]: mbps("up-ours"),
      [`upload ${size}: raw SDK Upload`]: mbps("up-raw"),
      "upload throughput ratio ours/raw (goal ≥ 0.9)": (secs("up-raw") / secs("up-ours")).toFixed(2),
      [`download ${size}: s3Download (atomic, fsync)`]: mbps("down-ours"),
      [`download ${size}: raw GetObject → file`]: mbps("down-raw"),
      [`download ${size}: raw GetObject → file + fsync`]: mbps("down-raw-fsync"),
      "download throughput ratio ours/raw (goal ≥ 0.9)": (secs("down-raw") / secs("down-ours")).toFixed(2),
      "download throughput ratio ours/(raw + fsync)": (secs("down-raw-fsync") / secs("down-ours")).toFixed(2),
      "peak RSS of the s3Upload process, median (highest)": `${fmt(rss("up-ours"), "MB", 0)} (${rssMax("up-ours").toFixed(0)})`,
      "peak RSS of the raw SDK upload process, median (highest)": `${fmt(rss("up-raw"), "MB", 0)} (${rssMax("up-raw").toFixed(0)})`,
      "peak RSS ratio ours/raw, upload (goal ≤ 1.0)": (rss("up-ours") / rss("up-raw")).toFixed(2),
      "peak RSS of the s3Download process, median (highest)": `${fmt(rss("down-ours"), "MB", 0)} (${rssMax("down-ours").toFixed(0)})`,
      "peak RSS of the raw SDK download process, median (highest)": `${fmt(rss("down-raw"), "MB", 0)} (${rssMax("down-raw").toFixed(0)})`,
      "peak RSS ratio ours/raw, download (goal ≤ 1.0)": (rss("down-ours") / rss("down-raw")).toFixed(2),
      "RSS before the transfer (after the warm-up), download: ours / raw": `${fmt(warm("down-ours"), "MB", 1)} / ${fmt(warm("down-raw"), "MB", 1)}`,
    };
  } finally {
    child.stdin?.end();
    await new Promise((r) => child.once("exit", r));
    await rm(dir, { recursive: true, force: true });
  }
}

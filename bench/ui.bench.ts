// Issue 28: `tributary ui`'s runs page over 10,000 recorded runs (BENCH_UI_RUNS): its first page's server time (the
// Server-Timing header, median of BENCH_UI_SAMPLES requests), as a ratio to the library call that reads the same
// runs (`runs.list`, the baseline), and the server's RSS (VmRSS and its peak VmHWM from /proc) after them and after
// bursts of every page at once; the same for the server run with V8's defaults (without the settings of the bin).
// Targets: ≤ 200 ms server time, ≤ 100 MB RSS. BENCH_UI_NODE_FLAGS: Node flags added to both servers.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openRunQueue, startAgent } from "@tributary/agent";
import { startRedis } from "@tributary/testing";
import { fmt, median } from "./stats.ts";

const RUNS = Number(process.env.BENCH_UI_RUNS ?? 10_000);
const SAMPLES = Number(process.env.BENCH_UI_SAMPLES ?? 30);
const BURST = 10;
const BURST_PATHS = [
  "/",
  "/?state=failed",
  "/runs/bench-ui/run-1",
  "/schedules",
  "/agents",
  "/api/runs?limit=500",
];

/** What one server answered and used: its RSS in MB before and after the requests (and its peak), server times. */
interface Measured {
  idle: number;
  server: number[];
  rows: number;
  rss: number;
  peak: number;
  burstRss: number;
  burstPeak: number;
}
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "packages", "cli", "dist", "bin.js");

/** The server's Node flags: BENCH_UI_NODE_FLAGS when set, else none (what users run). */
function nodeFlags(): string[] {
  return (process.env.BENCH_UI_NODE_FLAGS ?? "").split(" ").filter(Boolean);
}

/** A figure of /proc/<pid>/status, in MB. */
function procMb(pid: number, field: "VmRSS" | "VmHWM"): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${field}:`));
  return Number(/(\d+)/.exec(line ?? "")?.[1] ?? Number.NaN) / 1024;
}

export default async function bench(): Promise<Record<string, string>> {
  const redis = await startRedis({ persist: false });
  const queue = openRunQueue({ queue: "bench-ui", redis: redis.url });
  const agent = await startAgent({
    queue: "bench-ui",
    redis: redis.url,
    isolation: "in-process",
    concurrency: 64,
    keepRuns: RUNS * 2,
    log: () => {},
    runInProcess: async (run) => ({
      flow: "noop",
      runId: run.runId,
      state: "completed",
      start: new Date().toISOString(),
      durationMs: 1,
      tasks: [],
      hookErrors: [],
    }),
  });
  /** Starts `node <args> ui …` on the bench's queue, asks it for pages, and stops it. */
  const measure = async (args: readonly string[]): Promise<Measured> => {
    const ui = spawn(
      process.execPath,
      [...nodeFlags(), ...args, "ui", "--queue", "bench-ui", "--redis", redis.url, "--port", "0"],
      { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let stderr = "";
        ui.stderr?.setEncoding("utf8").on("data", (d: string) => {
          stderr += d;
          const found = /tributary ui on (http:\S+)/.exec(stderr);
          if (found) resolve(found[1] as string);
        });
        ui.once("exit", (code) => reject(new Error(`tributary ui exited with ${code}: ${stderr}`)));
      });
      const pid = ui.pid as number;
      const idle = procMb(pid, "VmRSS");
      const server: number[] = [];
      let rows = 0;
      for (let i = 0; i < SAMPLES; i++) {
        const response = await fetch(`${url}/`);
        const body = await response.text();
        rows = body.split('<tr class="run').length - 1;
        server.push(Number(/dur=([\d.]+)/.exec(response.headers.get("server-timing") ?? "")?.[1]));
      }
      const rss = procMb(pid, "VmRSS");
      const peak = procMb(pid, "VmHWM");
      // Then every page and API answer at once, BURST times over: what a few people with the dashboard open ask for.
      for (let i = 0; i < BURST; i++) {
        await Promise.all(
          BURST_PATHS.map(async (path) => {
            const response = await fetch(`${url}${path}`);
            if (!response.ok) throw new Error(`${path}: ${response.status}`);
            await response.arrayBuffer();
          }),
        );
      }
      return {
        idle,
        server,
        rows,
        rss,
        peak,
        burstRss: procMb(pid, "VmRSS"),
        burstPeak: procMb(pid, "VmHWM"),
      };
    } finally {
      ui.kill("SIGTERM");
    }
  };
  try {
    for (let i = 0; i < RUNS; i += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, RUNS - i) }, (_, j) =>
          queue.enqueue({ address: "file:///bench/noop", runId: `run-${i + j}`, params: { n: i + j } }),
        ),
      );
    }
    for (;;) {
      const counts = await queue.counts();
      if (counts.completed + counts.failed >= RUNS) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await agent.close();

    const baseline: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const t0 = performance.now();
      await queue.runs.list({ limit: 50 });
      baseline.push(performance.now() - t0);
    }

    const ours = await measure([BIN]);
    // The same server with V8's defaults: the command's code run through the library's `runCli`, without the V8
    // settings its bin sets (packages/cli/src/bin.ts).
    const defaults = await measure([
      "--input-type=module",
      "-e",
      'const { runCli } = await import("@tributary/cli"); process.exitCode = await runCli(process.argv.slice(1));',
    ]);
    const rssOf = (m: Measured) =>
      `${fmt(m.rss, "MB", 1)} (peak ${fmt(m.peak, "MB", 1)}); after ${BURST} bursts of every page at once ${fmt(
        m.burstRss,
        "MB",
        1,
      )} (peak ${fmt(m.burstPeak, "MB", 1)})`;
    return {
      node: `${process.version}${nodeFlags().length > 0 ? ` ${nodeFlags().join(" ")}` : ""}`,
      "recorded runs": String(RUNS),
      "rows on the first page": String(ours.rows),
      "runs page, server time (median)": `${fmt(median(ours.server), "ms")} (target ≤ 200 ms)`,
      "runs.list({ limit: 50 }) (baseline, median)": fmt(median(baseline), "ms"),
      "runs page / baseline": fmt(median(ours.server) / median(baseline), "×"),
      "server RSS before the first request": fmt(ours.idle, "MB", 1),
      "server RSS after the requests (target ≤ 100 MB)": rssOf(ours),
      "with V8's defaults: runs page, server time (median)": fmt(median(defaults.server), "ms"),
      "with V8's defaults: server RSS before the first request": fmt(defaults.idle, "MB", 1),
      "with V8's defaults: server RSS after the requests": rssOf(defaults),
    };
  } finally {
    await agent.close().catch(() => {});
    await queue.close();
    await redis.close();
  }
}

// Issue 28: `tributary ui`'s runs page over 10,000 recorded runs (BENCH_UI_RUNS): its first page's server time (the
// Server-Timing header, median of BENCH_UI_SAMPLES requests), as a ratio to the library call that reads the same
// runs (`runs.list`, the baseline), and the server's RSS (VmRSS and its peak VmHWM from /proc) after them.
// Targets: ≤ 200 ms server time, ≤ 100 MB RSS. BENCH_UI_NODE_FLAGS: the server's Node flags instead of its own.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openRunQueue, startAgent } from "@tributary/agent";
import { startRedis } from "@tributary/testing";
import { fmt, median } from "./stats.ts";

const RUNS = Number(process.env.BENCH_UI_RUNS ?? 10_000);
const SAMPLES = Number(process.env.BENCH_UI_SAMPLES ?? 30);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "packages", "cli", "dist", "bin.js");

/**
 * The Node flags of the server: BENCH_UI_NODE_FLAGS when set; else, on a Node without `process.execve` (before 22.15),
 * the young-generation size `tributary ui` gives itself there (packages/cli/src/bin.ts), so the figure is what users
 * of a supported Node get.
 */
function nodeFlags(): string[] {
  if (process.env.BENCH_UI_NODE_FLAGS !== undefined)
    return process.env.BENCH_UI_NODE_FLAGS.split(" ").filter(Boolean);
  return "execve" in process ? [] : ["--max-semi-space-size=1"];
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
  let ui: ChildProcess | undefined;
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

    ui = spawn(
      process.execPath,
      [
        ...(process.env.BENCH_UI_NODE_FLAGS ? process.env.BENCH_UI_NODE_FLAGS.split(" ") : []),
        BIN,
        "ui",
        "--queue",
        "bench-ui",
        "--redis",
        redis.url,
        "--port",
        "0",
      ],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    const url = await new Promise<string>((resolve, reject) => {
      let stderr = "";
      ui?.stderr?.setEncoding("utf8").on("data", (d: string) => {
        stderr += d;
        const found = /tributary ui on (http:\S+)/.exec(stderr);
        if (found) resolve(found[1] as string);
      });
      ui?.once("exit", (code) => reject(new Error(`tributary ui exited with ${code}: ${stderr}`)));
    });
    const idle = procMb(ui.pid as number, "VmRSS");
    const server: number[] = [];
    let rows = 0;
    for (let i = 0; i < SAMPLES; i++) {
      const response = await fetch(`${url}/`);
      const body = await response.text();
      rows = body.split('<tr class="run').length - 1;
      server.push(Number(/dur=([\d.]+)/.exec(response.headers.get("server-timing") ?? "")?.[1]));
    }
    const pid = ui.pid as number;
    const rss = procMb(pid, "VmRSS");
    const peak = procMb(pid, "VmHWM");
    return {
      node: `${process.version}${nodeFlags().length > 0 ? ` ${nodeFlags().join(" ")}` : ""}`,
      "recorded runs": String(RUNS),
      "rows on the first page": String(rows),
      "runs page, server time (median)": `${fmt(median(server), "ms")} (target ≤ 200 ms)`,
      "runs.list({ limit: 50 }) (baseline, median)": fmt(median(baseline), "ms"),
      "runs page / baseline": fmt(median(server) / median(baseline), "×"),
      "server RSS before the first request": fmt(idle, "MB", 1),
      "server RSS after the requests": `${fmt(rss, "MB", 1)} (peak ${fmt(peak, "MB", 1)}; target ≤ 100 MB)`,
    };
  } finally {
    ui?.kill("SIGTERM");
    await agent.close().catch(() => {});
    await queue.close();
    await redis.close();
  }
}

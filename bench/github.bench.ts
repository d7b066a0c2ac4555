// Issue 30: what a GitHub call through Tributary costs against bare Octokit (`@octokit/rest`, no plugins), both
// reading one repository (`githubGetRepo` / `octokit.rest.repos.get`) from the GitHub stand-in on this machine,
// 400 calls one after another and 400 calls in waves of 100 at once.
//
// Method. These machines are shared and loaded, so wall time alone measures the neighbours. Each measure runs in a
// fresh Node process that holds both the stand-in and the client (one thread does all the JavaScript), warms up,
// then times the calls three ways: wall time; wall time less the time the main thread spent runnable but waiting
// for a CPU (the run-queue delay, second field of /proc/thread-self/schedstat); and the process's CPU time
// (`process.cpuUsage()`, GC threads included). Bare and Tributary processes alternate, BENCH_GITHUB_PAIRS (default
// 7) pairs, all in this one run; each figure is the median, and the ratio is Tributary's median over bare Octokit's.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { fmt, median } from "./stats.ts";

const CALLS = Number(process.env.BENCH_GITHUB_CALLS ?? 400);
const WAVE = 100;
const WARMUP = 100;
const PAIRS = Number(process.env.BENCH_GITHUB_PAIRS ?? 7);
for (const [name, value] of [
  ["BENCH_GITHUB_CALLS", CALLS],
  ["BENCH_GITHUB_PAIRS", PAIRS],
] as const) {
  if (!(Number.isInteger(value) && value >= 1)) throw new Error(`${name} must be an integer ≥ 1`);
}

type Side = "bare" | "tributary";
type Mode = "sequential" | "concurrent";
interface Sample {
  wallMs: number;
  /** Wall time less the main thread's run-queue delay. */
  onCpuOrIoMs: number;
  cpuMs: number;
}

/** The main thread's time spent waiting for a CPU so far, in ms (0 where the kernel does not say). */
function runQueueMs(): number {
  try {
    const fields = readFileSync("/proc/thread-self/schedstat", "utf8").split(" ");
    return Number(fields[1]) / 1e6;
  } catch {
    return 0;
  }
}

/** In the child: starts the stand-in, warms the side up, and measures CALLS calls. */
async function child(side: Side, mode: Mode): Promise<Sample> {
  const { generateGitHubToken, startGitHubStandIn } = await import("@tributary/testing");
  const token = generateGitHubToken();
  const github = await startGitHubStandIn({
    tokens: [token],
    repos: [{ fullName: "acme/app" }],
    rateLimit: { limit: 1_000_000 },
  });
  let call: () => Promise<unknown>;
  if (side === "bare") {
    const { Octokit } = await import("@octokit/rest");
    const octokit = new Octokit({ baseUrl: github.url, auth: token });
    call = () => octokit.rest.repos.get({ owner: "acme", repo: "app" });
  } else {
    const { configureLogging } = await import("@tributary/flow");
    configureLogging({ level: "silent" });
    const { githubGetRepo } = await import("@tributary/github");
    call = () => githubGetRepo({ repo: "acme/app", token, endpoint: github.url });
  }
  const batch = async (n: number) => {
    if (mode === "sequential") for (let i = 0; i < n; i++) await call();
    else
      for (let done = 0; done < n; done += WAVE)
        await Promise.all(Array.from({ length: Math.min(WAVE, n - done) }, call));
  };
  await batch(WARMUP);
  github.reset();
  const cpu0 = process.cpuUsage();
  const queued0 = runQueueMs();
  const t0 = performance.now();
  await batch(CALLS);
  const wallMs = performance.now() - t0;
  const queuedMs = runQueueMs() - queued0;
  const cpu = process.cpuUsage(cpu0);
  if (github.requests.length !== CALLS || github.requests.some((r) => r.status !== 200))
    throw new Error(`${side}: expected ${CALLS} answers 200, got ${github.requests.length}`);
  await github.close();
  return { wallMs, onCpuOrIoMs: wallMs - queuedMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

function measure(side: Side, mode: Mode): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url)], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, BENCH_GITHUB_CHILD: `${side}:${mode}` },
    });
    let out = "";
    proc.stdout.on("data", (d) => {
      out += String(d);
    });
    proc.once("error", reject);
    proc.once("exit", (code) => {
      const last = out.trim().split("\n").pop() ?? "";
      if (code !== 0 || !last.startsWith("{"))
        reject(new Error(`${side} ${mode} exited with ${code}: ${out}`));
      else resolve(JSON.parse(last) as Sample);
    });
  });
}

export default async function bench(): Promise<Record<string, string>> {
  const figures: Record<string, string> = {};
  for (const mode of ["sequential", "concurrent"] as const) {
    const samples: Record<Side, Sample[]> = { bare: [], tributary: [] };
    for (let i = 0; i < PAIRS; i++) {
      // Alternating, and which side goes first alternates too.
      const order: Side[] = i % 2 === 0 ? ["bare", "tributary"] : ["tributary", "bare"];
      for (const side of order) samples[side].push(await measure(side, mode));
    }
    const per = (side: Side, key: keyof Sample) => (median(samples[side].map((s) => s[key])) * 1000) / CALLS;
    const label = mode === "sequential" ? `${CALLS} sequential` : `${CALLS} in waves of ${WAVE}`;
    for (const [key, what] of [
      ["onCpuOrIoMs", "wall less CPU wait"],
      ["cpuMs", "CPU time"],
      ["wallMs", "wall"],
    ] as const) {
      const bare = per("bare", key);
      const ours = per("tributary", key);
      figures[`githubGetRepo, ${label}, ${what}`] =
        `${fmt(ours, "µs/call", 0)} vs bare Octokit ${fmt(bare, "µs/call", 0)}: ${fmt(ours / bare, "×")}`;
    }
  }
  return figures;
}

const role = process.env.BENCH_GITHUB_CHILD;
if (role) {
  const [side, mode] = role.split(":") as [Side, Mode];
  const sample = await child(side, mode);
  process.stdout.write(`\n${JSON.stringify(sample)}\n`);
  process.exit(0);
}

import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { openRunQueue, type RunQueue } from "@tributary/agent";
import { type RedisServer, startRedis } from "@tributary/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM_PATH, launchChromium } from "../../../scripts/chromium.js";
import { BIN, cliEnv, removeTempHomes, runBin, saveDeployment, tempHome } from "../test/helpers.js";

// End to end: `tributary ui` in its own process, on a real redis-server, over runs an agent (another process) ran
// from a file:// deployment; pages checked in headless Chromium, access and secrecy over plain HTTP.
const SHOTS = process.env.CI_ARTIFACTS
  ? join(process.env.CI_ARTIFACTS, "ui")
  : mkdtempSync(join(tmpdir(), "tributary-ui-shots-"));

let redis: RedisServer;
let address: string;
let queue: RunQueue;
const agentToken = `agent-token-${randomBytes(12).toString("hex")}`;
const uiToken = `ui-token-${randomBytes(16).toString("hex")}`;
const children: ChildProcess[] = [];

const FLOW = `import { resolveSecret } from "@tributary/auth";
import { flow, task } from "@tributary/flow";
const fetchRows = task({ name: "fetch rows" }, async () => { await new Promise((r) => setTimeout(r, 30)); return 3; });
let tries = 0;
const transform = task({ name: "transform", retries: 1, retryDelayMs: 10 }, async (rows) => {
  tries++;
  if (tries === 1) throw new Error("flaky once");
  return rows * 2;
});
const load = task({ name: "load" }, async (value) => {
  throw new Error("warehouse refused " + value);
});
export const main = flow({ name: "nightly", secrets: ["AGENT_TOKEN"] }, async ({ params, log }) => {
  const { value } = await resolveSecret("AGENT_TOKEN");
  log.info("token in hand: " + value + " password=" + params?.password);
  const rows = await transform(await fetchRows());
  if (params?.fail) await load(value);
  return { rows, echo: value };
});
`;

/** Starts `tributary ARGS` and resolves once its stderr holds `ready`, with the stderr so far. */
function startBin(
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
): Promise<{ child: ChildProcess; out: string }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: cliEnv(tempHome(), env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let stderr = "";
    child.stderr?.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
      if (ready.test(stderr)) resolve({ child, out: stderr });
    });
    child.once("exit", (code) => reject(new Error(`tributary ${args[0]} exited with ${code}:\n${stderr}`)));
  });
}

async function startUi(extra: string[], env: Record<string, string> = {}): Promise<string> {
  const { out } = await startBin(
    ["ui", "--queue", "nightly", "--redis", redis.url, "--port", "0", ...extra],
    env,
    /tributary ui on (http:\S+)/,
  );
  return (/tributary ui on (http:\S+)/.exec(out) as RegExpExecArray)[1] as string;
}

let localUi: string;
let tokenUi: string;
let actionsUi: string;

beforeAll(async () => {
  redis = await startRedis();
  address = await saveDeployment(tempHome(), "nightly", FLOW, ["AGENT_TOKEN"]);
  await startBin(
    ["agent", "start", "--redis", redis.url, "--queue", "nightly", "-e", "AGENT_TOKEN", "--concurrency", "2"],
    { TRIBUTARY__CONTEXT__SECRETS__AGENT_TOKEN: agentToken },
    /takes runs from queue/,
  );
  queue = openRunQueue({ queue: "nightly", redis: redis.url });
  await queue.enqueue({ address, runId: "ok-1", params: { password: "looks-like-a-secret-1234" } });
  await queue.wait("ok-1", { timeoutMs: 60_000 });
  await queue.enqueue({ address, runId: "bad-1", params: { fail: true } });
  await queue.wait("bad-1", { timeoutMs: 60_000 });
  await queue.schedules.add({ address, name: "hourly", every: "1h" });
  await queue.schedules.add({ address, name: "weekly", cron: "0 3 * * 1" });
  await queue.schedules.pause("weekly");
  [localUi, tokenUi, actionsUi] = await Promise.all([
    startUi([]),
    startUi(["--host", "0.0.0.0", "--token-secret", "UI_TOKEN"], {
      TRIBUTARY__CONTEXT__SECRETS__UI_TOKEN: uiToken,
    }),
    startUi(["--allow-actions"]),
  ]);
}, 120_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  await queue?.close();
  await redis?.close();
  removeTempHomes();
});

// Skipped on a machine without Chromium, never in CI (`.ci/run` installs it): there a missing browser fails.
const hasChromium = existsSync(CHROMIUM_PATH) || process.env.CI !== undefined;

describe.skipIf(!hasChromium)("tributary ui in Chromium", () => {
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it("shows runs, a run's timeline and credentials, a failed run's masked error, schedules, agents, live runs", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const violations: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") violations.push(m.text());
    });

    await page.goto(`${localUi}/`);
    // Newest first; the schedules' runs (an interval fires at once, and the next slot waits as delayed) are there too.
    const listed = await page
      .locator("tr.run")
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-run") as string));
    expect(listed.filter((id) => !id.includes("@"))).toEqual(["bad-1", "ok-1"]);
    expect(await page.locator('tr.run[data-run="bad-1"]').getAttribute("class")).toContain("failed");
    expect(await page.locator('tr.run[data-run="bad-1"] + tr.run-error').textContent()).toContain(
      "warehouse refused [redacted]",
    );
    await page.screenshot({ path: join(SHOTS, "runs.png"), fullPage: true });

    await page.click('a[href="/runs/nightly/ok-1"]');
    await page.waitForSelector("svg.timeline");
    const bars = page.locator("svg.timeline g.task");
    expect(await bars.evaluateAll((gs) => gs.map((g) => g.getAttribute("data-task")))).toEqual([
      "fetch rows",
      "transform",
    ]);
    expect(await page.locator("svg.timeline g.task-completed rect.bar").count()).toBe(2);
    expect(await page.locator('g[data-task="transform"] text.retries').textContent()).toBe("×2");
    const credentials = await page
      .locator("table.credentials tbody tr")
      .evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll("td")].map((td) => td.textContent)));
    expect(credentials).toEqual([["AGENT_TOKEN", "agent", "-e AGENT_TOKEN", "", ""]]);
    expect(await page.locator("pre.logs").textContent()).toContain("token in hand: [redacted]");
    await page.screenshot({ path: join(SHOTS, "run.png"), fullPage: true });

    await page.goto(`${localUi}/runs/nightly/bad-1`);
    expect(await page.locator("pre.error").textContent()).toContain("Error: warehouse refused [redacted]");
    expect(await page.locator("svg.timeline g.task-failed").getAttribute("data-task")).toBe("load");
    await page.screenshot({ path: join(SHOTS, "run-failed.png"), fullPage: true });

    await page.goto(`${localUi}/schedules`);
    expect(await page.locator("tr.schedule.paused").getAttribute("data-schedule")).toBe("weekly");
    expect(await page.locator('tr[data-schedule="hourly"] td').nth(4).textContent()).toMatch(
      /\d{4}-\d\d-\d\dT/,
    );
    await page.screenshot({ path: join(SHOTS, "schedules.png"), fullPage: true });

    await page.goto(`${localUi}/agents`);
    const agent = await page.locator("table.agents tbody tr").textContent();
    expect(agent).toContain("nightly");
    expect(agent).toContain("AGENT_TOKEN");
    await page.screenshot({ path: join(SHOTS, "agents.png"), fullPage: true });

    // A run queued while the runs page is open shows up, and then ends, without a reload.
    await page.goto(`${localUi}/`);
    await page.waitForSelector("tr.run");
    const marker = await page.evaluate(() => {
      (globalThis as unknown as { marker: number }).marker = 42;
      return 42;
    });
    await queue.enqueue({ address, runId: "live-1" });
    await page.waitForSelector('tr.run[data-run="live-1"]', { timeout: 30_000 });
    await page.waitForSelector('tr.run[data-run="live-1"] .state-completed', { timeout: 30_000 });
    expect(await page.evaluate(() => (globalThis as unknown as { marker: number }).marker)).toBe(marker);
    await page.screenshot({ path: join(SHOTS, "runs-live.png"), fullPage: true });
    expect(violations).toEqual([]);
    await context.close();
  }, 120_000);

  it("signs in through the login form of a dashboard that needs a token", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 500 } });
    const page = await context.newPage();
    const first = await page.goto(`${tokenUi}/agents`);
    expect(first?.status()).toBe(401);
    await page.screenshot({ path: join(SHOTS, "login.png") });
    await page.fill('input[name="token"]', uiToken);
    await page.click('form.login button[type="submit"]');
    await page.waitForSelector("table.runs");
    const cookies = await context.cookies();
    expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite])).toEqual([["tributary_ui", true, "Strict"]]);
    expect((await page.goto(`${tokenUi}/agents`))?.status()).toBe(200);
    await context.close();
  }, 120_000);
});

const ROUTES = [
  "/",
  "/runs/nightly/ok-1",
  "/schedules",
  "/agents",
  "/api/runs",
  "/api/runs/ok-1",
  "/api/schedules",
  "/api/agents",
  "/events",
];

async function status(url: string, init: RequestInit = {}): Promise<number> {
  const controller = new AbortController();
  const response = await fetch(url, { ...init, redirect: "manual", signal: controller.signal });
  controller.abort();
  return response.status;
}

describe("tributary ui access", () => {
  it("refuses to start on a non-local address without a token", async () => {
    const result = await runBin(
      ["ui", "--queue", "nightly", "--redis", redis.url, "--host", "0.0.0.0", "--port", "0"],
      {
        home: tempHome(),
      },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("give a token with --token-secret NAME or TRIBUTARY_UI_TOKEN");
  });

  it("answers 401 on every page and API route without the token or with a wrong one, and serves it with it", async () => {
    const wrong = `ui-token-${randomBytes(16).toString("hex")}`;
    expect(wrong.length).toBe(uiToken.length);
    for (const route of ROUTES) {
      expect([route, await status(`${tokenUi}${route}`)]).toEqual([route, 401]);
      const bad = { headers: { authorization: `Bearer ${wrong}` } };
      expect([route, await status(`${tokenUi}${route}`, bad)]).toEqual([route, 401]);
      const good = { headers: { authorization: `Bearer ${uiToken}` } };
      expect([route, await status(`${tokenUi}${route}`, good)]).toEqual([route, 200]);
    }
  });

  it("a loopback dashboard answers only requests addressed to a loopback name (no DNS rebinding)", async () => {
    const { port } = new URL(localUi);
    const answer = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const request = httpRequest(
          { host: "127.0.0.1", port, path: "/api/runs", headers: { host } },
          (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
          },
        );
        request.on("error", reject);
        request.end();
      });
    expect(await answer(`attacker.example:${port}`)).toBe(421);
    expect(await answer(`localhost:${port}`)).toBe(200);
    expect(await answer(`127.0.0.1:${port}`)).toBe(200);
  });

  it("signs in with the login form: an HttpOnly, SameSite=Strict cookie", async () => {
    const refused = await fetch(`${tokenUi}/login`, {
      method: "POST",
      body: new URLSearchParams({ token: "x".repeat(41) }),
      redirect: "manual",
    });
    expect(refused.status).toBe(401);
    const login = await fetch(`${tokenUi}/login`, {
      method: "POST",
      body: new URLSearchParams({ token: uiToken }),
      redirect: "manual",
    });
    expect(login.status).toBe(303);
    const cookie = login.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).not.toContain(uiToken);
    const page = await fetch(`${tokenUi}/`, { headers: { cookie: cookie.split(";")[0] as string } });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(await page.text()).not.toMatch(/<script>|style="/);
  });

  it("serves no action without --allow-actions, and none without the CSRF token", async () => {
    const actions = ["/actions/run", "/runs/nightly/bad-1/retry", "/schedules/nightly/hourly/pause"];
    for (const action of actions) {
      expect([action, await status(`${localUi}${action}`, { method: "POST" })]).toEqual([action, 404]);
    }
    const before = (await queue.runs.list({ limit: 100 })).length;
    const noCsrf = await fetch(`${actionsUi}/actions/run`, {
      method: "POST",
      body: new URLSearchParams({ queue: "nightly", address }),
      redirect: "manual",
    });
    expect(noCsrf.status).toBe(400);
    const pause = await fetch(`${actionsUi}/schedules/nightly/hourly/pause`, {
      method: "POST",
      body: new URLSearchParams({ csrf: "x" }),
      redirect: "manual",
    });
    expect(pause.status).toBe(400);
    expect((await queue.schedules.get("hourly"))?.paused).toBe(false);
    expect((await queue.runs.list({ limit: 100 })).length).toBe(before);

    const csrf = /name="csrf" value="([^"]+)"/.exec(
      await (await fetch(`${actionsUi}/`)).text(),
    )?.[1] as string;
    const retried = await fetch(`${actionsUi}/runs/nightly/bad-1/retry`, {
      method: "POST",
      body: new URLSearchParams({ csrf }),
      redirect: "manual",
    });
    expect(retried.status).toBe(303);
    const retryId = decodeURIComponent((retried.headers.get("location") ?? "").split("/").pop() as string);
    expect(retryId).toMatch(/^bad-1\.retry-/);
    expect(await queue.runs.get(retryId)).toMatchObject({ address, params: { fail: true } });
    const paused = await fetch(`${actionsUi}/schedules/nightly/hourly/pause`, {
      method: "POST",
      body: new URLSearchParams({ csrf }),
      redirect: "manual",
    });
    expect(paused.status).toBe(303);
    expect((await queue.schedules.get("hourly"))?.paused).toBe(true);
    await queue.schedules.resume("hourly");

    // Queued from the page: the secret names come from the deployment's manifest, as `run --queue` reads them.
    const queued = await fetch(`${actionsUi}/actions/run`, {
      method: "POST",
      body: new URLSearchParams({ csrf, queue: "nightly", address, params: '{"day":"2026-12-01"}' }),
      redirect: "manual",
    });
    expect(queued.status).toBe(303);
    const queuedId = decodeURIComponent((queued.headers.get("location") ?? "").split("/").pop() as string);
    expect(await queue.runs.get(queuedId)).toMatchObject({
      address,
      params: { day: "2026-12-01" },
      secrets: ["AGENT_TOKEN"],
    });
  });
});

describe("tributary ui secrecy", () => {
  it("no page or API answer holds the agent's secret, though the run's logs, error and result held it", async () => {
    const headers = { authorization: `Bearer ${uiToken}` };
    const routes = [
      ...ROUTES.filter((r) => r !== "/events"),
      "/runs/nightly/bad-1",
      "/api/runs/bad-1",
      "/api/runs?state=failed",
    ];
    for (const ui of [localUi, tokenUi, actionsUi]) {
      for (const route of routes) {
        const body = await (await fetch(`${ui}${route}`, { headers })).text();
        expect(body.length).toBeGreaterThan(0);
        expect(body).not.toContain(agentToken);
        expect(body).not.toContain(uiToken);
      }
    }
    const detail = (await (await fetch(`${localUi}/api/runs/ok-1`)).json()) as {
      credentials: unknown;
      report: { result: { echo: string } };
      params: { password: string };
    };
    expect(detail.credentials).toEqual([{ name: "AGENT_TOKEN", source: "agent", detail: "-e AGENT_TOKEN" }]);
    expect(detail.report.result.echo).toBe("[redacted]");
    expect(detail.params.password).not.toBe("looks-like-a-secret-1234");
  });
});

describe("tributary ui stopping", () => {
  it("exits 0 on SIGTERM when its Redis is gone, instead of waiting for it until SIGKILL", async () => {
    const gone = await startRedis();
    try {
      const { child } = await startBin(
        ["ui", "--queue", "nightly", "--redis", gone.url, "--port", "0"],
        {},
        /tributary ui on http/,
      );
      const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
      await gone.close();
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      await gone.close();
    }
  }, 30_000);
});

describe("tributary ui's cost to other commands", () => {
  it("the built entries import the server (hono) only through import() of its own chunk", () => {
    const statics = new Set<string>();
    const visit = (file: string) => {
      const code = readFileSync(file, "utf8");
      for (const [, spec] of code.matchAll(/^\s*(?:import|export)\b[^"'()]*?from\s*["']([^"']+)["']/gm)) {
        if (!spec || statics.has(spec)) continue;
        statics.add(spec);
        if (spec.startsWith(".")) visit(join(dirname(file), spec));
      }
    };
    for (const entry of ["bin.js", "index.js"]) visit(join(dirname(BIN), entry));
    expect([...statics].filter((s) => /^(hono|@hono\/)/.test(s) || s.includes("ui-server"))).toEqual([]);
    expect(readFileSync(BIN, "utf8") + [...statics].join()).toMatch(/chunk-/);
  });
});

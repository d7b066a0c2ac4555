import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dumpRedis, REDIS_OUT_OF_REACH, until, useAgentsOnRedis, withOwnRedis } from "../test/helpers.js";
import { openRunQueue, RUN_LOG_MAX_BYTES } from "./index.js";
import { cutNote } from "./run-log.js";

const fixture = useAgentsOnRedis("tributary-history-test-");
const { agent, queue } = fixture;

describe("run records", () => {
  it.each(["child-process", "in-process"] as const)(
    "say where each credential came from, and where a failed run ended, masked (%s)",
    async (isolation) => {
      const given = `given-${randomBytes(12).toString("hex")}`;
      const stored = `stored-${randomBytes(12).toString("hex")}`;
      const secretsDir = mkdtempSync(join(fixture.dir, "backend-"));
      writeFileSync(join(secretsDir, "BACKEND_TOKEN"), stored);
      const name = `creds-${isolation}`;
      await agent({ queue: name, isolation, secrets: { GIVEN_TOKEN: given }, secretsDir });
      const runs = queue(name);
      const ok = await runs.enqueue({ address: "test://creds", runId: `ok-${isolation}` });
      const bad = await runs.enqueue({
        address: "test://creds",
        runId: `bad:${isolation}`,
        params: { fail: true },
        retries: 1,
        backoffMs: 10,
      });
      expect((await runs.wait(ok.runId, { timeoutMs: 30_000 })).state).toBe("completed");
      expect((await runs.wait(bad.runId, { timeoutMs: 30_000 })).state).toBe("failed");

      const record = await runs.runs.get(ok.runId, { logs: true });
      expect(record).toMatchObject({
        runId: ok.runId,
        flow: "creds",
        state: "completed",
        address: "test://creds",
      });
      expect(record?.credentials).toEqual([
        { name: "BACKEND_TOKEN", source: "backend", detail: `directory ${secretsDir}, key BACKEND_TOKEN` },
        { name: "GIVEN_TOKEN", source: "agent", detail: "-e GIVEN_TOKEN" },
      ]);
      expect(record?.tasks.map((t) => [t.name, t.state])).toEqual([["step", "completed"]]);
      expect(record?.logs?.some((l) => l.includes("Flow run creds completed"))).toBe(true);

      const failed = await runs.runs.get(bad.runId, { logs: true });
      expect(failed?.jobId).toBe(`bad%3A${isolation}`);
      expect(failed).toMatchObject({ state: "failed", endedIn: "breaks", flow: "creds", attempts: 2 });
      // A retried run keeps the lines of each attempt.
      expect(failed?.logs?.filter((l) => l.includes("Flow run creds started"))).toHaveLength(2);
      expect(failed?.report?.error?.message).toBe("could not use [redacted]");
      expect(failed?.error).toContain("could not use [redacted]");
      expect(failed?.tasks.map((t) => [t.name, t.state])).toEqual([
        ["step", "completed"],
        ["breaks", "failed"],
      ]);
      const everything = JSON.stringify([record, failed]) + (await dumpRedis(fixture.redisUrl));
      for (const value of [given, stored]) expect(everything).not.toContain(value);

      const listed = await runs.runs.list({ flow: "creds" });
      expect(listed.map((r) => r.runId).sort()).toEqual([bad.runId, ok.runId].sort());
      expect((await runs.runs.list({ states: ["failed"] })).map((r) => r.runId)).toEqual([bad.runId]);
      expect(await runs.runs.get("never-queued")).toBeUndefined();
    },
    60_000,
  );

  it("holds none of 200 distinct secrets after 200 runs, in any Redis key or value", async () => {
    const log = join(fixture.dir, "leaked.log");
    writeFileSync(log, "");
    await agent({ queue: "leak", isolation: "in-process", concurrency: 8 });
    await agent({ queue: "leak", concurrency: 4 });
    const runs = queue("leak");
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) {
      ids.push(
        (
          await runs.enqueue({
            address: "test://leak",
            runId: `leak-${i}`,
            params: { log, fail: i % 3 === 0 },
          })
        ).runId,
      );
    }
    const reports = await Promise.all(ids.map((id) => runs.wait(id, { timeoutMs: 120_000 })));
    expect(reports.filter((r) => r.state === "failed")).toHaveLength(67);
    const values = readFileSync(log, "utf8").trim().split("\n");
    expect(values).toHaveLength(200);
    const everything = await dumpRedis(fixture.redisUrl);
    expect(everything).toContain("refused [redacted]");
    expect(values.filter((value) => everything.includes(value))).toEqual([]);
    // What the runs logged, through the library's reads too.
    for (const id of ids.slice(0, 20)) {
      const record = await runs.runs.get(id, { logs: true });
      for (const value of values) expect(JSON.stringify(record)).not.toContain(value);
    }
  }, 180_000);

  it.each([
    { what: "1,500 short lines: the last 1,000", lines: 1500, size: 10, kept: 1000 },
    { what: "300 lines of 8 KiB: the last 1 MiB", lines: 300, size: 8192, kept: 127 },
  ])(
    "keeps a run's log lines as they come, then $what with a note",
    async ({ lines, size, kept }) => {
      const name = `chatty-${lines}`;
      await agent({ queue: name, isolation: "in-process" });
      const runs = queue(name);
      const { runId } = await runs.enqueue({ address: "test://chatty", params: { lines, size, ms: 3000 } });
      // While it runs, its lines can be read already.
      await until(async () => ((await runs.runs.get(runId, { logs: true }))?.logs ?? []).length > 0, 20_000);
      expect((await runs.runs.get(runId))?.state).toBe("running");
      await runs.wait(runId, { timeoutMs: 30_000 });
      const logs = (await runs.runs.get(runId, { logs: true }))?.logs ?? [];
      const total = lines + 2; // with the flow's "started" and "completed" lines
      expect(logs[0]).toBe(cutNote(total - kept));
      expect(logs).toHaveLength(kept + 1);
      expect(logs.at(-1)).toContain("Flow run chatty completed");
      expect(logs.slice(1).reduce((n, l) => n + Buffer.byteLength(l) + 1, 0)).toBeLessThanOrEqual(
        RUN_LOG_MAX_BYTES,
      );
    },
    60_000,
  );

  it("keeps the last --keep-runs records of finished runs: the oldest go", async () => {
    await agent({ queue: "keep", isolation: "in-process", keepRuns: 5 });
    const runs = queue("keep");
    for (let i = 0; i < 8; i++) {
      const { runId } = await runs.enqueue({ address: "test://noop", runId: `keep-${i}` });
      await runs.wait(runId, { timeoutMs: 30_000 });
    }
    const left = await runs.runs.list({ limit: 100 });
    expect(left.map((r) => r.runId)).toEqual(["keep-7", "keep-6", "keep-5", "keep-4", "keep-3"]);
    expect(await runs.runs.get("keep-0")).toBeUndefined();
    expect((await runs.runs.list({ limit: 2 })).map((r) => r.runId)).toEqual(["keep-7", "keep-6"]);
    // The logs and records of removed runs go with them: no key of keep-0 to keep-2 is left.
    const keys = (await dumpRedis(fixture.redisUrl)).split("\n").map((line) => line.split(" ")[0]);
    expect(keys.filter((key) => /keep-[012]\b/.test(key ?? ""))).toEqual([]);
  }, 60_000);

  it("watch reports each run as it is queued, starts and ends, with its run id, until stopped", async () => {
    const runs = queue("watched");
    const seen: string[] = [];
    const stop = await runs.watch((event) => seen.push(`${event.queue} ${event.runId} ${event.state}`));
    await agent({ queue: "watched", isolation: "in-process" });
    await runs.enqueue({ address: "test://noop", runId: "watched:1" });
    await runs.enqueue({ address: "test://fail", runId: "watched-2", params: { name: "NOWHERE" } });
    await until(() => seen.length >= 6);
    const of = (runId: string) => seen.filter((line) => line.includes(` ${runId} `));
    expect(of("watched:1")).toEqual([
      "watched watched:1 waiting",
      "watched watched:1 running",
      "watched watched:1 completed",
    ]);
    expect(of("watched-2")).toEqual([
      "watched watched-2 waiting",
      "watched watched-2 running",
      "watched watched-2 failed",
    ]);
    await stop();
    await runs.enqueue({ address: "test://noop", runId: "watched-3" });
    await runs.wait("watched-3", { timeoutMs: 30_000 });
    expect(of("watched-3")).toEqual([]);
  }, 60_000);

  it.concurrent.for(REDIS_OUT_OF_REACH)(
    "with Redis %s, wait gives up at its timeout or signal, a watcher stops, the queue closes (within REDIS_STOP_MS)",
    { timeout: 20_000 },
    ([, outOfReach], { expect }) =>
      withOwnRedis(async (server) => {
        const runs = openRunQueue({ queue: "out-of-reach", redis: server.url });
        const { runId } = await runs.enqueue({ address: "test://noop" });
        const stop = await runs.watch(() => {});
        await runs.watch(() => {});
        await outOfReach(server);
        // Each waited for Redis for ever (the test's timeout) before.
        await expect(runs.wait(runId, { timeoutMs: 500 })).rejects.toMatchObject({
          name: "RunWaitTimeoutError",
        });
        const giveUp = new AbortController();
        const waiting = runs.wait(runId, { signal: giveUp.signal });
        setTimeout(() => giveUp.abort(new Error("no longer needed")), 300);
        await expect(waiting).rejects.toThrow("no longer needed");
        await Promise.all([stop(), runs.close()]);
      }),
  );
});

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dumpRedis, until, useAgentsOnRedis } from "../test/helpers.js";
import type { RunQueue, ScheduleOptions } from "./index.js";

const fixture = useAgentsOnRedis("tributary-schedules-test-");
const { agent, queue } = fixture;

const lines = (file: string) => readFileSync(file, "utf8").trim().split("\n").filter(Boolean);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the queue has nothing waiting, delayed-and-due or running. */
async function idle(runs: RunQueue): Promise<void> {
  await until(async () => {
    const counts = await runs.counts();
    return counts.running === 0 && counts.waiting === 0;
  }, 30_000);
}

describe("schedules", () => {
  it("runs each slot of an every-second schedule exactly once with two agents, one restarted in between", async () => {
    const log = join(fixture.dir, "every.log");
    writeFileSync(log, "");
    const a = await agent({ queue: "every", isolation: "in-process", concurrency: 2 });
    await agent({ queue: "every", isolation: "in-process", concurrency: 2 });
    const runs = queue("every");
    const added = await runs.schedules.add({
      name: "tick",
      address: "test://record",
      every: "1s",
      params: { log },
    });
    expect(added.next).toHaveLength(3);
    expect(Date.parse(added.next[1] as string) - Date.parse(added.next[0] as string)).toBe(1000);
    await sleep(3500);
    // One agent goes away and comes back: the other takes the slots that come due meanwhile.
    a.child.kill("SIGTERM");
    expect(await a.exited).toBe(0);
    await sleep(2000);
    await agent({ queue: "every", isolation: "in-process", concurrency: 2 });
    await sleep(4500);
    await runs.schedules.pause("tick");
    await idle(runs);

    const ended = lines(log).filter((l) => l.startsWith("end "));
    const ids = ended.map((l) => l.split(" ")[1] as string);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeGreaterThanOrEqual(8);
    const slots = ids.map((id) => Date.parse(id.slice("tick@".length))).sort((x, y) => x - y);
    expect(ids.every((id) => id.startsWith("tick@"))).toBe(true);
    // No slot lost: one run for every second from the first to the last.
    expect(slots.map((s) => s - (slots[0] as number))).toEqual(slots.map((_, i) => i * 1000));

    const listed = await runs.runs.list({ schedule: "tick", limit: 1000 });
    expect(listed.map((r) => r.runId).sort()).toEqual([...ids].sort());
    expect(listed.every((r) => r.state === "completed" && r.scheduledFor && r.schedule === "tick")).toBe(
      true,
    );
    const one = await runs.runs.get(ids[0] as string);
    expect(one).toMatchObject({ runId: ids[0], schedule: "tick", state: "completed", flow: "record" });
  }, 60_000);

  it("hands the next slot to the agents still up when the agent that was waiting for it stops", async () => {
    const log = join(fixture.dir, "handover.log");
    writeFileSync(log, "");
    // Redis wakes the agents waiting on a queue in the order they began to wait. When the slot's job is made, the
    // first agent learns when it is due; the second waits on, and would only look again after BullMQ's 5 s.
    const first = await agent({ queue: "handover", isolation: "in-process" });
    await sleep(300);
    const second = await agent({ queue: "handover", isolation: "in-process" });
    await sleep(300);
    const runs = queue("handover");
    // One slot a minute, 1.5 to 2.5 s from now.
    const at = new Date(Date.now() + 2500).getUTCSeconds();
    await runs.schedules.add({
      name: "handover",
      address: "test://record",
      cron: `${at} * * * * *`,
      params: { log },
    });
    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    // The flow's last line comes before its run is recorded as completed: wait for the record.
    const completed = () => runs.runs.list({ schedule: "handover", states: ["completed"] });
    await until(async () => (await completed()).length > 0, 30_000);
    expect(lines(log).filter((l) => l.startsWith("end "))).toHaveLength(1);
    const [run] = await completed();
    expect(run?.agent).toBe(second.id);
    // On time: a run taken more than one interval late costs an every-second schedule its next slots.
    expect(Date.parse(run?.startedAt ?? "") - Date.parse(run?.scheduledFor ?? "")).toBeLessThan(1000);
  }, 30_000);

  it("skips the slots a still-running run overlaps with noOverlap, and records each skip", async () => {
    const log = join(fixture.dir, "overlap.log");
    writeFileSync(log, "");
    await agent({ queue: "overlap", isolation: "in-process", concurrency: 4 });
    const runs = queue("overlap");
    await runs.schedules.add({
      name: "slow",
      address: "test://record",
      every: "1s",
      noOverlap: true,
      params: { log, ms: 2500 },
    });
    await until(() => lines(log).filter((l) => l.startsWith("end ")).length >= 2, 30_000);
    await runs.schedules.pause("slow");
    await idle(runs);
    // Runs never overlapped: each started after the one before it ended.
    const events = lines(log).map((l) => l.split(" ")[0]);
    expect(events.join(" ")).toMatch(/^(start end ?)+$/);
    const skipped = await runs.runs.list({ schedule: "slow", states: ["skipped"], limit: 100 });
    expect(skipped.length).toBeGreaterThanOrEqual(2);
    expect(skipped[0]?.error).toMatch(/^Skipped: run slow@\S+ of schedule slow was still running/);
    // Completed and skipped runs share BullMQ's completed set: a short listing reads on past the skipped ones.
    const two = await runs.runs.list({ states: ["completed"], limit: 2 });
    expect(two.map((r) => r.state)).toEqual(["completed", "completed"]);
    expect(new Set(two.map((r) => r.runId)).size).toBe(2);
    const ran = await runs.runs.list({ schedule: "slow", states: ["completed"], limit: 100 });
    expect(ran.map((r) => r.runId).sort()).toEqual(
      lines(log)
        .filter((l) => l.startsWith("end "))
        .map((l) => l.split(" ")[1])
        .sort(),
    );
  }, 60_000);

  it("stops firing while paused and starts again on resume", async () => {
    await agent({ queue: "pausing", isolation: "in-process" });
    const runs = queue("pausing");
    await runs.schedules.add({ name: "beat", address: "test://noop", every: "1s" });
    // Completed runs only: the next slot's job, waiting or delayed, is listed too, and pausing removes it.
    const ran = async () =>
      (await runs.runs.list({ schedule: "beat", states: ["completed"], limit: 1000 })).length;
    await until(async () => (await ran()) >= 2, 30_000);
    const paused = await runs.schedules.pause("beat");
    expect(paused).toMatchObject({ paused: true, next: [] });
    await idle(runs);
    const before = await ran();
    await sleep(2500);
    expect(await ran()).toBe(before);
    expect((await runs.schedules.list())[0]).toMatchObject({ name: "beat", paused: true });
    const resumed = await runs.schedules.resume("beat");
    expect(resumed.paused).toBe(false);
    expect(resumed.next).toHaveLength(3);
    await until(async () => (await ran()) > before, 30_000);
    const [listed] = await runs.schedules.list({ lastRuns: 3 });
    expect(listed?.lastRuns).toHaveLength(3);
    expect(listed?.lastRuns.every((r) => r.runId.startsWith("beat@"))).toBe(true);
    expect(listed?.lastRuns.map((r) => r.state)).toContain("completed");
    expect(await runs.schedules.remove("beat")).toBe(true);
    expect(await runs.schedules.list()).toEqual([]);
  }, 60_000);

  it("shows a cron schedule's next fire times in its zone", async () => {
    const runs = queue("cron");
    const nightly = await runs.schedules.add({
      address: "s3://flows/prod/nightly",
      cron: "0 2 * * *",
      tz: "Europe/Berlin",
      params: { region: "eu" },
    });
    expect(nightly.name).toBe("nightly");
    expect(nightly.next).toHaveLength(3);
    for (const at of nightly.next) {
      const hour = new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/Berlin", hour: "2-digit" }).format(
        new Date(at),
      );
      expect(hour).toBe("02");
    }
    expect(await runs.schedules.get("nightly")).toMatchObject({ cron: "0 2 * * *", tz: "Europe/Berlin" });
  });

  it("refuses bad schedules with a clear error, writing nothing to Redis", async () => {
    const value = `sched-secret-${Math.random().toString(36).slice(2)}-${Date.now()}`;
    process.env.TRIBUTARY__CONTEXT__SECRETS__SCHEDULE_TOKEN = value;
    const runs = queue("refused");
    const base: ScheduleOptions = { name: "taken", address: "s3://flows/prod/nightly", cron: "0 2 * * *" };
    try {
      await runs.schedules.add(base);
      const before = await dumpRedis(fixture.redisUrl);
      expect(before).toContain("tributary-schedules:refused");
      const cases: [string, ScheduleOptions, RegExp][] = [
        [
          "an unparsable cron",
          { ...base, name: "a", cron: "0 25 * * *" },
          /cron: "0 25 \* \* \*" is not a cron/,
        ],
        ["a cron that is no cron", { ...base, name: "b", cron: "nightly please" }, /cron: "nightly please"/],
        [
          "an unknown zone",
          { ...base, name: "c", tz: "Mars/Olympus" },
          /tz: "Mars\/Olympus" is not a time zone/,
        ],
        ["a name already used", base, /schedule taken is already on queue refused.*--replace/],
        ["both cron and every", { ...base, name: "d", every: "1m" }, /exactly one of cron/],
        ["neither", { name: "e", address: base.address }, /exactly one of cron/],
        [
          "an interval under a second",
          { ...base, name: "f", cron: undefined, every: "500ms" },
          /1 s or more/,
        ],
        ["an interval that is none", { ...base, name: "g", cron: undefined, every: "soon" }, /every/],
        ["a bad name", { ...base, name: "no spaces" }, /name/],
        [
          "params holding a secret",
          { ...base, name: "h", params: { auth: `Bearer ${value}` } },
          /params\.auth holds a secret value/,
        ],
      ];
      for (const [what, options, message] of cases) {
        const error = await runs.schedules.add(options).then(
          () => undefined,
          (e: Error) => e,
        );
        expect(error?.message, what).toMatch(message);
        expect(error?.message, what).not.toContain(value);
      }
      const after = await dumpRedis(fixture.redisUrl);
      // This queue's keys (other tests' agents go on writing their heartbeats meanwhile).
      const sorted = (dump: string) =>
        dump
          .split("\n")
          .filter((line) => /^tributary(-schedules)?:refused\b/.test(line))
          .sort();
      expect(sorted(after).filter((l) => !sorted(before).includes(l))).toEqual([]);
      const replaced = await runs.schedules.add({ ...base, cron: "0 3 * * *", replace: true });
      expect(replaced.cron).toBe("0 3 * * *");
      expect((await runs.schedules.list()).map((s) => s.name)).toEqual(["taken"]);
    } finally {
      delete process.env.TRIBUTARY__CONTEXT__SECRETS__SCHEDULE_TOKEN;
    }
  });
});

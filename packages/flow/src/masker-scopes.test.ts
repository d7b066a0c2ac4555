import { randomBytes } from "node:crypto";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { mask, maskerStats, RETAINED_SCOPES, resolveSecret } from "@tributary/auth";
import { describe, expect, it } from "vitest";
import { memorySink, useTempHome } from "../test/helpers.js";
import { taskContext } from "./context.js";
import { flow } from "./flow.js";
import { task } from "./task.js";

useTempHome();

const token = () => `ghp_${randomBytes(18).toString("hex")}`;

describe("a run's secret values", () => {
  it("with a 20,000-byte value beside another secret: the run completes and nothing leaks", async () => {
    const big = randomBytes(20_000).toString("hex");
    const github = token();
    const { sink, lines } = memorySink();
    const f = flow({ name: "big", logger: { sink } }, async ({ log }) => {
      log.info("x");
      log.info(`big ${big} and ${github}`, { big, [github]: Buffer.from(github) });
      throw new Error(`failed with ${github} after ${big}`);
    });
    const report = await f.run({ secrets: { BIG: big, GITHUB_ACCESS_TOKEN: github } });
    expect(report.state).toBe("failed");
    const everything = `${lines.join("\n")}\n${JSON.stringify(report)}`;
    expect(everything).not.toContain(github);
    expect(everything).not.toContain(big.slice(0, 64));
    expect(lines.some((line) => line.includes("[redacted]"))).toBe(true);
  });

  it("stay masked in the run's report, its hooks and in what a task left behind logs after the run", async () => {
    const secret = token();
    const { sink, lines } = memorySink();
    const hookLines: string[] = [];
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let loggedLate = Promise.resolve();
    const leftBehind = task({ name: "left-behind" }, async () => {
      const { log } = taskContext()!;
      const value = (await resolveSecret("LATE_TOKEN")).value as string;
      // Still running in the run's context after the run has ended, as a task nobody awaited does.
      loggedLate = released.then(() => log.warn(`late ${value}`, { value }));
      return new Promise(() => {});
    });
    const f = flow(
      {
        name: "ended",
        logger: { sink },
        onFailure: async () => {
          const value = (await resolveSecret("LATE_TOKEN")).value as string;
          hookLines.push(mask(`hook sees ${value}`));
        },
      },
      async () => {
        void leftBehind();
        await new Promise((resolve) => setTimeout(resolve, 5));
        throw new Error(`body failed with ${secret}`);
      },
    );
    const report = await f.run({ secrets: { LATE_TOKEN: secret } });
    // Enough later runs that the process masker has let the first run's value go.
    const other = flow({ name: "other", logger: { sink: () => {} } }, async () => {});
    for (let i = 0; i < RETAINED_SCOPES + 2; i++) await other.run({ secrets: { OTHER: token() } });
    expect(mask(`outside ${secret}`)).toBe(`outside ${secret}`);
    release();
    await loggedLate;
    const everything = [...lines, ...hookLines, JSON.stringify(report)].join("\n");
    expect(everything).toContain("late [redacted]");
    expect(hookLines).toEqual(["hook sees [redacted]"]);
    expect(everything).not.toContain(secret);
  });

  it("over 10,000 runs with distinct secrets: what the masker holds and the heap stay flat", async () => {
    // The cost of a run across these runs is measured in bench/flow.bench.ts.
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const f = flow({ name: "many", logger: { sink: () => {} } }, async ({ log }) => {
      const value = (await resolveSecret("RUN_TOKEN")).value as string;
      log.info(`using ${value}`);
    });
    let heapAt100 = 0;
    let statsAt100 = maskerStats();
    for (let run = 1; run <= 10_000; run++) {
      await f.run({ secrets: { RUN_TOKEN: token() } });
      if (run === 100) {
        gc();
        heapAt100 = process.memoryUsage().heapUsed;
        statsAt100 = maskerStats();
      }
    }
    gc();
    const heapGrowth = process.memoryUsage().heapUsed - heapAt100;
    expect(heapGrowth).toBeLessThan(8 * 1024 * 1024);
    expect(maskerStats()).toEqual(statsAt100);
  }, 120_000);
});

import { randomBytes } from "node:crypto";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { flow } from "@tributary/flow";
import { type RedisServer, startRedis } from "@tributary/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startAgent } from "./agent.js";
import { openRunQueue } from "./run-queue.js";

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.close();
});

function collectGarbage(): () => void {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  return () => {
    for (let i = 0; i < 3; i++) gc();
  };
}

// Needs the scoped masker of @tributary/auth (issue 10): a run's values are dropped some runs after it ends.
it("keeps an in-process agent's memory flat over 10,000 runs with a new secret value each", async () => {
  const gc = collectGarbage();
  // Each run gets a value never seen before (a rotating secret) and logs it: masked, then dropped with the run.
  const rotating = flow({ name: "rotating", logger: { level: "silent" } }, async ({ log }) => {
    log.info("using the token");
    return { ok: true };
  });
  const agent = await startAgent({
    queue: "memory",
    redis: redis.url,
    isolation: "in-process",
    concurrency: 16,
    // Every run's record is kept, so that the completed count below reaches 10,000.
    keepRuns: 10_000,
    log: () => {},
    secrets: () => ({ ROTATING_TOKEN: `rot-${randomBytes(16).toString("hex")}` }),
    runInProcess: (run, { secrets, signal }) => rotating.run({ runId: run.runId, secrets, signal }),
  });
  const runs = openRunQueue({ queue: "memory", redis: redis.url });
  const batch = async (from: number, to: number) => {
    const ids: string[] = [];
    for (let i = from; i < to; i += 500) {
      const chunk = await Promise.all(
        Array.from({ length: Math.min(500, to - i) }, (_, j) =>
          runs.enqueue({ address: "test://rotating", runId: `m-${i + j}` }),
        ),
      );
      ids.push(...chunk.map((c) => c.runId));
    }
    const last = ids[ids.length - 1] as string;
    await runs.wait(last, { timeoutMs: 120_000 });
    await new Promise((r) => setTimeout(r, 50));
    while ((await runs.counts()).completed < to) await new Promise((r) => setTimeout(r, 50));
  };
  try {
    await batch(0, 1000);
    gc();
    const atThousand = process.memoryUsage().heapUsed;
    await batch(1000, 10_000);
    gc();
    const atTenThousand = process.memoryUsage().heapUsed;
    const growthMb = (atTenThousand - atThousand) / 1024 / 1024;
    expect(growthMb).toBeLessThan(8);
  } finally {
    await runs.close();
    await agent.close();
  }
}, 120_000);

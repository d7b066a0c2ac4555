import { AsyncLocalStorage } from "node:async_hooks";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import {
  configureBackends,
  directoryBackend,
  MissingCredentialsError,
  resolveSecret,
  withSecrets,
} from "@tributary/auth";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { memorySink, useTempHome } from "../test/helpers.js";
import { taskContext } from "./context.js";
import { type FlowContext, type FlowOptions, flow } from "./flow.js";
import { resetLogging } from "./logger.js";
import type { RunReport, TaskRun } from "./report.js";
import type { FlowStorage } from "./storage.js";
import { task } from "./task.js";

useTempHome();
afterEach(() => {
  resetLogging();
  configureBackends([]);
});

const quiet = { logger: { level: "silent" } } satisfies Partial<FlowOptions>;
const double = task({ name: "double" }, async (n: number) => n * 2);
const fail = task({ name: "fail", retries: 1, retryDelayMs: 1 }, async (message: string) => {
  throw new Error(message);
});

describe("run reports", () => {
  it("reports a completed run with each task run and the body's result", async () => {
    const f = flow({ name: "sum", ...quiet }, async ({ params, runId }: FlowContext<{ n: number }>) => {
      const [a, b] = await Promise.all([double(params.n), double(params.n + 1)]);
      return { total: (a ?? 0) + (b ?? 0), runId };
    });
    const report = await f.run({ params: { n: 2 }, runId: "run-1" });
    expect(report).toMatchObject({
      flow: "sum",
      runId: "run-1",
      state: "completed",
      result: { total: 10, runId: "run-1" },
      hookErrors: [],
    });
    expect(report.error).toBeUndefined();
    expect(report.tasks).toEqual([
      {
        id: 1,
        name: "double",
        state: "completed",
        attempts: 1,
        start: expect.any(String),
        durationMs: expect.any(Number),
      },
      {
        id: 2,
        name: "double",
        state: "completed",
        attempts: 1,
        start: expect.any(String),
        durationMs: expect.any(Number),
      },
    ]);
    expect(Number.isNaN(Date.parse(report.start))).toBe(false);
    expect(JSON.parse(JSON.stringify(report)).tasks).toHaveLength(2);
  });

  it("reports a failed run, its error and the failed task's attempts, without throwing", async () => {
    const f = flow({ name: "broken", ...quiet }, async () => {
      await double(1);
      await fail("disk on fire");
    });
    const report = await f.run();
    expect(report.state).toBe("failed");
    expect(report.error).toEqual({ name: "Error", message: "disk on fire" });
    expect(report.tasks.map((t) => [t.name, t.state, t.attempts])).toEqual([
      ["double", "completed", 1],
      ["fail", "failed", 2],
    ]);
    expect(report.tasks[1]?.error).toEqual({ name: "Error", message: "disk on fire" });
  });

  it("reports a task that throws a non-Error value", async () => {
    const odd = task({ name: "odd" }, async () => {
      throw { reason: "not an error", code: 7 };
    });
    const report = await flow({ name: "odd", ...quiet }, () => odd()).run();
    expect(report.state).toBe("failed");
    expect(report.tasks[0]?.error).toEqual({
      name: "NonErrorThrown",
      message: 'A non-Error value was thrown: {"reason":"not an error","code":7}',
    });
    expect(report.error?.name).toBe("NonErrorThrown");
  });

  it.each<[string, () => unknown, Partial<RunReport>]>([
    ["a plain function's value", () => 41, { state: "completed", result: 41 }],
    ["an async function's value", async () => 42, { state: "completed", result: 42 }],
    [
      "a thenable's value",
      // biome-ignore lint/suspicious/noThenProperty: a body may return a thenable that is not a Promise.
      () => ({ then: (ok: (v: number) => void) => ok(43) }),
      { state: "completed", result: 43 },
    ],
    [
      "a plain function's throw",
      () => {
        throw new Error("at once");
      },
      { state: "failed", error: { name: "Error", message: "at once" } },
    ],
    [
      "an async function's rejection",
      async () => {
        throw new Error("later");
      },
      { state: "failed", error: { name: "Error", message: "later" } },
    ],
  ])("reports %s as the run's outcome", async (_, body, expected) => {
    const report = await flow({ name: "kinds", ...quiet }, body).run();
    expect(report).toMatchObject(expected);
  });

  it("gives the body its context to destructure, and a report whose tasks survive JSON", async () => {
    const one = task({ name: "one" }, async () => 1);
    const report = await flow({ name: "ctx", ...quiet }, async ({ params, runId, signal, log }) => {
      log.info("here");
      return { params, runId, aborted: signal.aborted, one: await one() };
    }).run({ params: { day: "2026-11-30" }, runId: "run-ctx" });
    expect(report.result).toEqual({
      params: { day: "2026-11-30" },
      runId: "run-ctx",
      aborted: false,
      one: 1,
    });
    expect(JSON.parse(JSON.stringify(report)).tasks).toMatchObject([{ name: "one", state: "completed" }]);
  });

  it("ends with a complete report when a task never settles past its timeout", async () => {
    const stuck = task({ name: "stuck", timeoutMs: 25 }, () => new Promise<never>(() => {}));
    const report = await flow({ name: "stuck", ...quiet }, () => stuck()).run();
    expect(report.state).toBe("failed");
    expect(report.error).toMatchObject({ name: "TaskTimeoutError", code: "TASK_TIMEOUT", retryable: true });
    expect(report.tasks).toEqual([expect.objectContaining({ name: "stuck", state: "failed", attempts: 1 })]);
  });

  it("cancels, in the report and through their signal, tasks the body did not await", async () => {
    let signal: AbortSignal | undefined;
    const slow = task({ name: "slow" }, async () => {
      signal = taskContext()!.signal;
      await delay(60_000, undefined, { signal }).catch(() => {});
    });
    const report = await flow({ name: "orphans", ...quiet }, () => {
      void slow();
    }).run();
    expect(report.state).toBe("completed");
    expect(report.tasks[0]).toMatchObject({ state: "cancelled", error: { code: "RUN_CANCELLED" } });
    expect(signal?.aborted).toBe(true);
  });

  it.each<[string, FlowOptions]>([
    ["name", { name: "" } as FlowOptions],
    ["concurrency", { name: "f", concurrency: 0 }],
    ["concurrency", { name: "f", concurrency: 1.5 }],
    ["secrets", { name: "f", secrets: "AWS_CREDENTIALS" as never }],
    ["onFailure", { name: "f", onFailure: ["not a function"] as never }],
    ["storage", { name: "f", storage: { kind: "gcs" } as never }],
    ["hookTimeoutMs", { name: "f", hookTimeoutMs: -1 }],
  ])("refuses a bad %s with a ValidationError", (option, options) => {
    expect(() => flow(options, () => {})).toThrow(expect.objectContaining({ code: "INVALID_INPUT", option }));
  });

  it("reports a bad secret name given to the run as a failed run, before the body", async () => {
    let ran = false;
    const failures: RunReport[] = [];
    const f = flow({ name: "bad-input", ...quiet, onFailure: (r) => void failures.push(r) }, () => {
      ran = true;
    });
    const report = await f.run({ secrets: { "not a name!": "value-1234" } });
    expect(report.state).toBe("failed");
    expect(report.error?.message).toMatch(/not a name!/);
    expect(ran).toBe(false);
    expect(failures).toHaveLength(1);
  });
});

describe("concurrency", () => {
  it.each([1, 3, 8])("never runs more than %i tasks at once", async (limit) => {
    let inFlight = 0;
    let most = 0;
    const work = task({ name: "work" }, async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await delay(2);
      inFlight--;
    });
    const report = await flow({ name: "limited", concurrency: limit, ...quiet }, () =>
      Promise.all(Array.from({ length: 24 }, () => work())),
    ).run();
    expect(report.state).toBe("completed");
    expect(most).toBe(limit);
  });

  it("runs a call that waited for a slot in its caller's async context: its secrets, and the caller's own storage", async () => {
    const trace = new AsyncLocalStorage<string>();
    const seen = task({ name: "seen" }, async (i: number) => {
      await delay(1);
      const own = (await resolveSecret("MY_CALLER_TOKEN")).value === `token-${i}`;
      return `${own ? "own token" : "another token"}, ${trace.getStore()}`;
    });
    const report = await flow({ name: "waiting", concurrency: 1, ...quiet }, () =>
      Promise.all(
        Array.from({ length: 4 }, (_, i) =>
          trace.run(`span-${i}`, () => withSecrets({ MY_CALLER_TOKEN: `token-${i}` }, () => seen(i))),
        ),
      ),
    ).run();
    expect(report.state).toBe("completed");
    expect(report.result).toEqual([0, 1, 2, 3].map((i) => `own token, span-${i}`));
  });

  it("runs nested task calls in their parent's slot instead of deadlocking", async () => {
    const inner = task({ name: "inner" }, async (n: number) => n + 1);
    const outer = task({ name: "outer" }, async (n: number) => inner(await inner(n)));
    const report = await flow({ name: "nested", concurrency: 1, ...quiet }, () =>
      Promise.all([outer(1), outer(2)]),
    ).run();
    expect(report.state).toBe("completed");
    expect(report.result).toEqual([3, 4]);
    expect(report.tasks.map((t) => t.name).sort()).toEqual([
      "inner",
      "inner",
      "inner",
      "inner",
      "outer",
      "outer",
    ]);
  });
});

describe("hooks", () => {
  it("calls onTaskFailure for each failed task, then onFailure, in order, awaiting async hooks", async () => {
    const calls: string[] = [];
    const f = flow(
      {
        name: "hooked",
        ...quiet,
        onTaskFailure: [
          async (report, taskRun) => {
            await delay(5);
            calls.push(`task:${taskRun.name}:${taskRun.state}:${report.state}`);
          },
        ],
        onFailure: [
          async (report) => {
            await delay(1);
            calls.push(`failure-1:${report.state}`);
          },
          (report) => void calls.push(`failure-2:${report.tasks.length}`),
        ],
        onSuccess: () => void calls.push("success"),
      },
      async () => {
        await Promise.allSettled([fail("a"), fail("b")]);
        throw new Error("flow failed");
      },
    );
    const report = await f.run();
    expect(calls).toEqual([
      "task:fail:failed:running",
      "task:fail:failed:running",
      "failure-1:failed",
      "failure-2:2",
    ]);
    expect(report.hookErrors).toEqual([]);
  });

  it("calls onSuccess only when the run completes", async () => {
    const calls: string[] = [];
    const f = flow(
      {
        name: "ok",
        ...quiet,
        onSuccess: (r) => void calls.push(r.state),
        onFailure: () => void calls.push("fail"),
      },
      () => double(2),
    );
    await f.run();
    expect(calls).toEqual(["completed"]);
  });

  it("records a throwing or never-settling hook without hiding the flow's own error", async () => {
    const later: string[] = [];
    const f = flow(
      {
        name: "bad-hooks",
        ...quiet,
        hookTimeoutMs: 30,
        onTaskFailure: () => {
          throw "task hook broke";
        },
        onFailure: [
          () => {
            throw new Error("hook broke");
          },
          () => new Promise<never>(() => {}),
          () => void later.push("still called"),
        ],
      },
      async () => {
        await fail("the real problem");
      },
    );
    const report = await f.run();
    expect(report.state).toBe("failed");
    expect(report.error?.message).toBe("the real problem");
    expect(report.hookErrors).toEqual([
      {
        hook: "onTaskFailure[0]",
        error: { name: "NonErrorThrown", message: "A non-Error value was thrown: task hook broke" },
      },
      { hook: "onFailure[0]", error: { name: "Error", message: "hook broke" } },
      { hook: "onFailure[1]", error: expect.objectContaining({ name: "HookTimeoutError" }) },
    ]);
    expect(later).toEqual(["still called"]);
  });

  it("runs hooks in the run's secret scope, so a notifier task finds the run's secrets", async () => {
    const seen: string[] = [];
    const notify = task({ name: "notify" }, async (report: RunReport) => {
      const { value } = await resolveSecret("MY_WEBHOOK");
      seen.push(`${report.state}:${String(value)}`);
    });
    const f = flow({ name: "notified", ...quiet, onFailure: (report) => notify(report) }, async () => {
      throw new Error("x");
    });
    const report = await f.run({ secrets: { MY_WEBHOOK: "https://hooks.example/abc" } });
    expect(seen).toEqual(["failed:https://hooks.example/abc"]);
    expect(report.tasks).toEqual([]);
  });
});

describe("cancellation", () => {
  it("aborts running tasks, never starts pending ones, and reports the run cancelled", async () => {
    const controller = new AbortController();
    const started: number[] = [];
    let abortedSignal: AbortSignal | undefined;
    const cancelled: RunReport[] = [];
    const work = task({ name: "work" }, async (n: number) => {
      started.push(n);
      abortedSignal = taskContext()!.signal;
      if (n === 0) controller.abort(new Error("operator said stop"));
      await delay(60_000, undefined, { signal: abortedSignal });
    });
    const f = flow(
      { name: "cancellable", concurrency: 1, ...quiet, onFailure: (r) => void cancelled.push(r) },
      async () => {
        await Promise.all([0, 1, 2].map((n) => work(n)));
      },
    );
    const report = await f.run({ signal: controller.signal });
    expect(report.state).toBe("cancelled");
    expect(report.error).toMatchObject({
      code: "RUN_CANCELLED",
      message: "The flow run was cancelled: operator said stop.",
    });
    expect(started).toEqual([0]);
    expect(abortedSignal?.aborted).toBe(true);
    expect(report.tasks.map((t) => [t.state, t.attempts, t.start !== undefined])).toEqual([
      ["cancelled", 1, true],
      ["cancelled", 0, false],
      ["cancelled", 0, false],
    ]);
    expect(cancelled.map((r) => r.state)).toEqual(["cancelled"]);
  });

  it("does not wait for a body that ignores the signal, nor retry a cancelled task", async () => {
    const controller = new AbortController();
    let attempts = 0;
    const stubborn = task({ name: "stubborn", retries: 5, retryDelayMs: 1 }, async () => {
      attempts++;
      await new Promise<never>(() => {});
    });
    const pending = flow({ name: "stubborn", ...quiet }, () => stubborn()).run({ signal: controller.signal });
    await delay(10);
    controller.abort();
    const report = await pending;
    expect(report.state).toBe("cancelled");
    expect(attempts).toBe(1);
    expect(report.tasks[0]?.state).toBe("cancelled");
  });

  it("fires the body's own signal when the run is cancelled, and gives an aborted one once the run ended", async () => {
    const controller = new AbortController();
    let during: AbortSignal | undefined;
    let context: FlowContext | undefined;
    const report = await flow({ name: "listening", ...quiet }, async (ctx) => {
      context = ctx;
      during = ctx.signal;
      setTimeout(() => controller.abort(new Error("stop")), 5);
      await delay(60_000, undefined, { signal: ctx.signal });
    }).run({ signal: controller.signal });
    expect(report.state).toBe("cancelled");
    expect(during?.aborted).toBe(true);
    expect(during?.reason).toMatchObject({ code: "RUN_CANCELLED" });

    const ended = await flow({ name: "ended", ...quiet }, (ctx) => {
      context = ctx;
    }).run();
    expect(ended.state).toBe("completed");
    expect(context?.signal.aborted).toBe(true);
    expect(context?.signal.reason).toMatchObject({ code: "RUN_CANCELLED" });
  });

  it("starts nothing when the signal is already aborted", async () => {
    let ran = false;
    const report = await flow({ name: "never", ...quiet }, () => {
      ran = true;
    }).run({ signal: AbortSignal.abort() });
    expect(report.state).toBe("cancelled");
    expect(ran).toBe(false);
  });
});

describe("declared secrets", () => {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "tributary-flow-secrets-"));
    writeFileSync(join(dir, "MY_DB_PASSWORD"), "db-password-from-dir\n");
    writeFileSync(join(dir, "MY_STORAGE_KEY"), "storage-key-from-dir");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const readSecret = task({ name: "read-secret" }, async (name: string) => {
    const { value, source } = await resolveSecret(name);
    return { value: String(value).length, kind: source.kind };
  });

  it("loads declared names from a directoryBackend, and logs the source through the task", async () => {
    configureBackends([directoryBackend(dir)]);
    const { sink, lines, records } = memorySink();
    const f = flow({ name: "db", secrets: ["MY_DB_PASSWORD"], logger: { sink } }, () =>
      readSecret("MY_DB_PASSWORD"),
    );
    const report = await f.run();
    expect(report).toMatchObject({
      state: "completed",
      result: { value: "db-password-from-dir".length, kind: "backend" },
    });
    const provenance = records.filter((r) => r.message.startsWith("MY_DB_PASSWORD from"));
    expect(provenance.map((r) => [r.message, r.fields.task])).toEqual([
      [`MY_DB_PASSWORD from backend (directory ${dir}, key MY_DB_PASSWORD)`, undefined],
      [`MY_DB_PASSWORD from backend (directory ${dir}, key MY_DB_PASSWORD)`, "read-secret"],
    ]);
    expect(provenance.every((r) => r.level === "info")).toBe(true);
    expect(lines.join("\n")).not.toContain("db-password-from-dir");
  });

  it("declares the storage's secrets too, with backends given to the run", async () => {
    const storage: FlowStorage = {
      kind: "test",
      secrets: ["MY_STORAGE_KEY"],
      describe: () => "test storage",
      address: (name) => `test://${name}`,
      save: async () => {},
      load: async () => new Uint8Array(),
    };
    const f = flow({ name: "stored", storage, ...quiet }, () => readSecret("MY_STORAGE_KEY"));
    const report = await f.run({ backends: [directoryBackend(dir)] });
    expect(report.result).toEqual({ value: "storage-key-from-dir".length, kind: "backend" });
    const undeclared = await flow({ name: "undeclared", ...quiet }, () => readSecret("MY_STORAGE_KEY")).run({
      backends: [directoryBackend(dir)],
    });
    expect(undeclared.state).toBe("failed");
    expect(undeclared.error?.message).toMatch(/not asked: the name is not declared/);
  });

  it("fails the run before any task, with resolveSecret's own error, when a declared name cannot load", async () => {
    let ran = false;
    const backends = [directoryBackend(dir)];
    const f = flow({ name: "missing", secrets: ["MY_DB_PASSWORD", "MY_MISSING_KEY"], ...quiet }, () => {
      ran = true;
    });
    const report = await f.run({ backends, runId: "run-missing" });
    const expected = await withSecrets({}, () => resolveSecret("MY_MISSING_KEY").catch((e) => e), {
      declare: ["MY_MISSING_KEY"],
      backends,
      runId: "run-missing",
    });
    expect(MissingCredentialsError.isInstance(expected)).toBe(true);
    expect(report.state).toBe("failed");
    expect(ran).toBe(false);
    expect(report.tasks).toEqual([]);
    expect(report.error).toEqual({
      name: "MissingCredentialsError",
      code: "MISSING_CREDENTIALS",
      message: expected.message,
      retryable: false,
    });
  });
});

describe("isolation", () => {
  it("keeps 1,000 concurrent runs with different secrets apart", async () => {
    const read = task({ name: "read" }, async () => {
      await delay(Math.random() * 5);
      return (await resolveSecret("MY_RUN_TOKEN")).value as string;
    });
    const f = flow({ name: "isolated", concurrency: 4, ...quiet }, async ({ runId }) => {
      const values = await Promise.all([read(), read()]);
      return { runId, values };
    });
    const reports = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        f.run({ runId: `r${i}`, secrets: { MY_RUN_TOKEN: `token-for-run-${i}` } }),
      ),
    );
    const mismatched = reports.filter((report, i) => {
      const result = report.result as { runId: string; values: string[] } | undefined;
      // Run i's value is masked in its own report: only the redaction marker may appear, never another run's value.
      return (
        report.state !== "completed" ||
        result?.runId !== `r${i}` ||
        result.values.some((v) => v !== "[redacted]")
      );
    });
    expect(mismatched).toEqual([]);
    const direct = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        withSecrets({ MY_RUN_TOKEN: `direct-${i}` }, async () => {
          const seen: string[] = [];
          await flow({ name: "inner", ...quiet }, async () => {
            seen.push(await read());
          }).run();
          return seen[0] === `direct-${i}`;
        }),
      ),
    );
    expect(direct.every(Boolean)).toBe(true);
  });
});

describe("TaskRun in hooks", () => {
  it("gives onTaskFailure the failed task run with its error", async () => {
    const runs: TaskRun[] = [];
    await flow({ name: "t", ...quiet, onTaskFailure: (_, t) => void runs.push(t) }, () => fail("nope")).run();
    expect(runs).toEqual([
      expect.objectContaining({
        name: "fail",
        state: "failed",
        attempts: 2,
        error: { name: "Error", message: "nope" },
      }),
    ]);
  });
});

describe("leastPrivilege: one order from the run's default to the task", () => {
  const seen = task({ name: "seen" }, async () => taskContext()?.leastPrivilege ?? null);
  const scopedTask = task({ name: "scoped-task", leastPrivilege: true }, () => seen());
  const openTask = task({ name: "open-task", leastPrivilege: false }, () => seen());
  type Row = {
    what: string;
    flow?: boolean;
    run?: boolean;
    via?: "scoped" | "open";
    expected: boolean | null;
  };
  it.each<Row>([
    { what: "nothing set", expected: null },
    { what: "the run's default alone", run: true, expected: true },
    { what: "the flow's option over the run's default", flow: false, run: true, expected: false },
    { what: "the flow's option alone", flow: true, expected: true },
    { what: "a calling task's option over the run's default", run: false, via: "scoped", expected: true },
    { what: "a calling task's option over the flow's", flow: true, via: "open", expected: false },
  ])("$what", async ({ flow: flowValue, run: runValue, via, expected }) => {
    const probe = flow(
      { name: "probe", ...quiet, ...(flowValue !== undefined ? { leastPrivilege: flowValue } : {}) },
      () => (via === "scoped" ? scopedTask() : via === "open" ? openTask() : seen()),
    );
    const report = await probe.run(runValue !== undefined ? { leastPrivilege: runValue } : {});
    expect(report.state, JSON.stringify(report.error)).toBe("completed");
    expect(report.result).toBe(expected);
  });

  it("refuses a run default that is not a boolean before the run starts", async () => {
    const probe = flow({ name: "probe", ...quiet }, () => seen());
    await expect(probe.run({ leastPrivilege: "yes" as unknown as boolean })).rejects.toMatchObject({
      name: "ValidationError",
      message: expect.stringContaining("leastPrivilege"),
    });
  });
});

import { once } from "node:events";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import {
  CredentialRejectedError,
  resolveSecret,
  SecretNotAllowedError,
  ServiceError,
  TributaryError,
  ValidationError,
  withSecrets,
} from "@tributary/auth";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { memorySink, useTempHome } from "../test/helpers.js";
import { taskContext } from "./context.js";
import { TaskTimeoutError } from "./errors.js";
import { configureLogging, resetLogging } from "./logger.js";
import { backoffDelay, isRetryable, type TaskOptions, task } from "./task.js";

useTempHome();
beforeEach(() => configureLogging({ sink: () => {} }));
afterEach(() => resetLogging());

/** A task failing `failures` times with `error`, then returning the attempt number. */
function flaky(options: Omit<TaskOptions, "name">, failures: number, error: () => unknown) {
  const calls: number[] = [];
  const t = task({ name: "flaky", retryDelayMs: 1, ...options }, async () => {
    const { attempt } = taskContext()!;
    calls.push(attempt);
    if (calls.length <= failures) throw error();
    return attempt;
  });
  return { t, calls };
}

describe("retries", () => {
  it.each([
    { retries: 0, failures: 0, attempts: 1, ok: true },
    { retries: 0, failures: 1, attempts: 1, ok: false },
    { retries: 2, failures: 2, attempts: 3, ok: true },
    { retries: 2, failures: 3, attempts: 3, ok: false },
    { retries: 5, failures: 1, attempts: 2, ok: true },
  ])(
    "retries $retries, failing $failures times: $attempts attempts",
    async ({ retries, failures, attempts, ok }) => {
      const { t, calls } = flaky({ retries }, failures, () => new Error("transient"));
      if (ok) await expect(t()).resolves.toBe(attempts);
      else await expect(t()).rejects.toThrow("transient");
      expect(calls).toEqual(Array.from({ length: attempts }, (_, i) => i + 1));
    },
  );

  it.each([
    [
      "a rejected credential",
      () => new CredentialRejectedError("S3", { kind: "env", detail: "X" }, "bad signature"),
    ],
    ["a validation error", () => new ValidationError("bucket", "must not be empty")],
    ["a non-retryable service error", () => new ServiceError("NOT_FOUND", "S3", "no such key", 404)],
  ])("never retries %s", async (_, error) => {
    const { t, calls } = flaky({ retries: 3 }, 10, error);
    await expect(t()).rejects.toSatisfy((e) => TributaryError.isInstance(e));
    expect(calls).toEqual([1]);
  });

  it("retries a Tributary error that says it is retryable, and any non-Error value", async () => {
    const throttled = flaky(
      { retries: 1 },
      1,
      () => new ServiceError("THROTTLED", "S3", "slow down", 503, { retryable: true }),
    );
    await expect(throttled.t()).resolves.toBe(2);
    const weird = flaky({ retries: 1 }, 1, () => "a string, not an Error");
    await expect(weird.t()).resolves.toBe(2);
  });

  it("lets retryOn decide instead of the default rule", async () => {
    const seen: unknown[] = [];
    const retryOn = (e: unknown) => {
      seen.push(e);
      return (e as Error).message === "retry me";
    };
    const yes = flaky({ retries: 3, retryOn }, 2, () => new Error("retry me"));
    await expect(yes.t()).resolves.toBe(3);
    const no = flaky({ retries: 3, retryOn }, 2, () => new Error("give up"));
    await expect(no.t()).rejects.toThrow("give up");
    expect(no.calls).toEqual([1]);
    const overridden = flaky({ retries: 1, retryOn: () => true }, 1, () => new ValidationError("x", "y"));
    await expect(overridden.t()).resolves.toBe(2);
    expect(seen).toHaveLength(3);
  });

  it("keeps backoff exponential within [half, all] of base * 2^(n-1), capped", () => {
    for (const [retry, low, high] of [
      [1, 50, 100],
      [2, 100, 200],
      [3, 200, 400],
      [8, 500, 1000],
    ] as const) {
      expect(backoffDelay(retry, 100, 1000, () => 0)).toBe(low);
      expect(backoffDelay(retry, 100, 1000, () => 0.999999)).toBe(high);
    }
  });

  it("waits a jittered, growing delay between attempts, logged with each retry", async () => {
    const { sink, records } = memorySink();
    configureLogging({ sink, level: "warn" });
    const { t } = flaky({ retries: 3, retryDelayMs: 20 }, 3, () => new Error("again"));
    const started = Date.now();
    await expect(t()).resolves.toBe(4);
    const delays = records.map((r) => r.fields.delayMs as number);
    expect(records.map((r) => r.message)).toEqual([
      expect.stringMatching(/^Task flaky failed \(attempt 1 of 4\); retrying in \d+ ms$/),
      expect.stringMatching(/attempt 2 of 4/),
      expect.stringMatching(/attempt 3 of 4/),
    ]);
    delays.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(10 * 2 ** i);
      expect(d).toBeLessThanOrEqual(20 * 2 ** i);
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(delays.reduce((a, b) => a + b, 0) - 5);
  });

  it("exposes the default rule as isRetryable", () => {
    expect(isRetryable(new Error("x"))).toBe(true);
    expect(isRetryable(new ValidationError("a", "b"))).toBe(false);
    expect(isRetryable(new TaskTimeoutError("t", 5))).toBe(true);
  });
});

describe("timeouts", () => {
  it("aborts a setTimeout-based task's signal and fails with TaskTimeoutError", async () => {
    let cleared = false;
    const slow = task({ name: "slow", timeoutMs: 30 }, async () => {
      const { signal } = taskContext()!;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, 60_000);
        signal.addEventListener("abort", () => {
          clearTimeout(timer);
          cleared = true;
          reject(signal.reason);
        });
      });
    });
    const error = await slow().catch((e) => e);
    expect(TaskTimeoutError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(/Task slow did not finish within 30 ms/);
    expect(cleared).toBe(true);
  });

  it("really cancels a socket the task opened with the signal", async () => {
    const arrived: IncomingMessage[] = [];
    const server = createServer((req, res) => {
      if (req.url === "/ready") res.end("ok");
      else arrived.push(req); // never answers
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as AddressInfo;
    try {
      await (await fetch(`http://127.0.0.1:${port}/ready`)).text(); // loads fetch before the clock starts
      const fetchTask = task({ name: "fetch", timeoutMs: 250 }, async () => {
        const response = await fetch(`http://127.0.0.1:${port}/slow`, { signal: taskContext()!.signal });
        return response.status;
      });
      const failed = fetchTask();
      await expect(failed).rejects.toSatisfy((e) => TaskTimeoutError.isInstance(e));
      expect(arrived).toHaveLength(1);
      const request = arrived[0] as IncomingMessage;
      if (!request.socket.destroyed) await once(request.socket, "close");
      expect(request.socket.destroyed).toBe(true);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it("ends a task that never settles, and retries it", async () => {
    const { sink } = memorySink();
    configureLogging({ sink });
    let attempts = 0;
    const stuck = task({ name: "stuck", timeoutMs: 20, retries: 1, retryDelayMs: 1 }, () => {
      attempts++;
      return new Promise<never>(() => {});
    });
    await expect(stuck()).rejects.toSatisfy((e) => TaskTimeoutError.isInstance(e));
    expect(attempts).toBe(2);
  });
});

describe("task()", () => {
  it("keeps the wrapped function's parameters and result, and works outside any flow", async () => {
    const add = task({ name: "add" }, (a: number, b: number) => a + b);
    const sum: number = await add(2, 3);
    expect(sum).toBe(5);
    expect(add.taskName).toBe("add");
    expect(add.name).toBe("add");
  });

  it("gives a context inside the body only", async () => {
    expect(taskContext()).toBeUndefined();
    const inspect = task({ name: "inspect" }, async () => {
      const c = taskContext()!;
      return {
        name: c.name,
        attempt: c.attempt,
        aborted: c.signal.aborted,
        runId: c.runId,
        log: typeof c.log.info,
      };
    });
    await expect(inspect()).resolves.toEqual({
      name: "inspect",
      attempt: 1,
      aborted: false,
      runId: undefined,
      log: "function",
    });
    expect(taskContext()).toBeUndefined();
  });

  it("turns a synchronous throw into a rejection", async () => {
    const boom = task({ name: "boom" }, () => {
      throw new Error("sync");
    });
    await expect(boom()).rejects.toThrow("sync");
  });

  it.each([
    [{}, "name"],
    [{ name: "" }, "name"],
    [{ name: "t", retries: -1 }, "retries"],
    [{ name: "t", retries: 1.5 }, "retries"],
    [{ name: "t", timeoutMs: 0 }, "timeoutMs"],
    [{ name: "t", timeoutMs: Number.NaN }, "timeoutMs"],
    [{ name: "t", retryDelayMs: -5 }, "retryDelayMs"],
    [{ name: "t", secrets: "AWS_CREDENTIALS" }, "secrets"],
    [{ name: "t", retryOn: true }, "retryOn"],
  ])("refuses %j with a ValidationError on %s", (options, option) => {
    const error = (() => {
      try {
        task(options as TaskOptions, async () => {});
      } catch (e) {
        return e;
      }
    })();
    expect(ValidationError.isInstance(error)).toBe(true);
    expect((error as ValidationError).option).toBe(option);
  });
});

describe("least-privilege secrets", () => {
  it("lets a task read only the names it declares", async () => {
    const reader = task({ name: "reader", secrets: ["MY_API_KEY"] }, async (name: string) => {
      const { value } = await resolveSecret(name);
      return value;
    });
    await withSecrets({ MY_API_KEY: "key-value-1", OTHER_KEY: "other-value-2" }, async () => {
      await expect(reader("MY_API_KEY")).resolves.toBe("key-value-1");
      const error = await reader("OTHER_KEY").catch((e: Error) => e);
      expect(SecretNotAllowedError.isInstance(error)).toBe(true);
      expect((error as Error).message).toContain(
        "Secret OTHER_KEY is not among the secrets this task may read (MY_API_KEY)",
      );
    });
  });

  it("does not retry a refused name", async () => {
    let calls = 0;
    const reader = task({ name: "reader", secrets: [], retries: 3, retryDelayMs: 1 }, async () => {
      calls++;
      await resolveSecret("ANYTHING_ELSE");
    });
    await expect(reader()).rejects.toSatisfy((e) => SecretNotAllowedError.isInstance(e));
    expect(calls).toBe(1);
  });

  it("logs where each credential came from, outside a flow too, without the value", async () => {
    const { sink, lines, records } = memorySink();
    configureLogging({ sink, level: "info" });
    const reader = task({ name: "reader" }, async () => (await resolveSecret("MY_API_KEY")).value);
    await withSecrets({ MY_API_KEY: "value-never-logged" }, () => reader());
    expect(records.map((r) => r.message)).toEqual([
      expect.stringMatching(/^MY_API_KEY from run \(run [0-9a-f-]+\)$/),
    ]);
    expect(records[0]?.fields).toMatchObject({ task: "reader", attempt: 1 });
    expect(lines.join("\n")).not.toContain("value-never-logged");
  });

  it("is quiet by default outside flows: info lines are not written", async () => {
    const { sink, records } = memorySink();
    configureLogging({ sink });
    const previous = process.env.TRIBUTARY_LOG_LEVEL;
    delete process.env.TRIBUTARY_LOG_LEVEL;
    try {
      const reader = task({ name: "reader" }, async () => {
        taskContext()!.log.info("not shown");
        taskContext()!.log.warn("shown");
      });
      await reader();
      expect(records.map((r) => r.message)).toEqual(["shown"]);
    } finally {
      if (previous !== undefined) process.env.TRIBUTARY_LOG_LEVEL = previous;
    }
  });
});

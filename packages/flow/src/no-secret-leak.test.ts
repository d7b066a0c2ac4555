import { inspect } from "node:util";
import { MIN_MASKED_LENGTH, resolveSecret } from "@tributary/auth";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { memorySink, useTempHome } from "../test/helpers.js";
import { taskContext } from "./context.js";
import { flow } from "./flow.js";
import { configureLogging, createLogger, type LogFormat, resetLogging } from "./logger.js";
import type { RunReport } from "./report.js";
import { task } from "./task.js";

useTempHome();
afterEach(() => resetLogging());

/** Runs a flow that does everything careless code does with two secrets, and returns every text it produced. */
async function everythingProduced(
  runSecret: string,
  argumentSecret: string,
  format: LogFormat,
): Promise<string[]> {
  const { sink, lines, records } = memorySink();
  const outside = memorySink();
  configureLogging({ sink: outside.sink, level: "debug", format });
  const hookReports: RunReport[] = [];
  const thrown: unknown[] = [];

  const leaky = task({ name: "leaky", retries: 1, retryDelayMs: 1 }, async (mode: string) => {
    const { log, attempt } = taskContext()!;
    const fromRun = (await resolveSecret("MY_RUN_SECRET")).value as string;
    const fromArg = (await resolveSecret("MY_ARG_SECRET", { value: argumentSecret, argument: "token" }))
      .value;
    log.info(`using ${fromRun} and ${fromArg}`, { fromRun, nested: { list: [fromArg] }, token: fromRun });
    if (attempt === 1) throw new Error(`first attempt failed with ${fromRun}`);
    if (mode === "non-error") throw { detail: `raw ${fromArg}`, again: fromRun };
    if (mode === "string") throw `string ${fromRun} ${fromArg}`;
    return { fromRun, fromArg };
  });
  const outsideTask = task({ name: "outside", retries: 1, retryDelayMs: 1 }, async () => {
    const value = (await resolveSecret("MY_ARG_SECRET", { value: argumentSecret })).value;
    taskContext()!.log.warn(`outside ${value}`, { value });
    throw new Error(`outside failed ${value}`);
  });

  const f = flow(
    {
      name: "leaky",
      secrets: ["MY_RUN_SECRET"],
      logger: { sink, level: "debug", format },
      onTaskFailure: (report, taskRun) => {
        hookReports.push(report);
        throw new Error(`task hook saw ${taskRun.name} ${runSecret}`);
      },
      onFailure: (report) => {
        hookReports.push(report);
        throw `failure hook ${argumentSecret}`;
      },
      onSuccess: (report) => void hookReports.push(report),
    },
    async ({ log }) => {
      log.warn(`body sees ${runSecret}`, { runSecret });
      const results = await Promise.allSettled([leaky("ok"), leaky("non-error"), leaky("string")]);
      for (const r of results) if (r.status === "rejected") thrown.push(r.reason);
      const ok = results[0]?.status === "fulfilled" ? results[0].value : undefined;
      throw new Error(`body failed after ${JSON.stringify(ok)}`);
    },
  );
  const report = await f.run({ secrets: { MY_RUN_SECRET: runSecret } });
  const completed = await flow({ name: "completed", logger: { sink, format } }, async () => ({
    result: runSecret,
    password: argumentSecret,
  })).run({ secrets: { MY_RUN_SECRET: runSecret } });
  await outsideTask().catch(() => {});
  createLogger({ sink, format }).error(`direct ${runSecret}`, { argumentSecret });

  return [
    ...lines,
    ...outside.lines,
    JSON.stringify(records),
    JSON.stringify(outside.records),
    JSON.stringify(report),
    inspect(report, { depth: 10 }),
    JSON.stringify(completed),
    inspect(completed, { depth: 10 }),
    JSON.stringify(hookReports),
    ...hookReports.map((r) => inspect(r, { depth: 10 })),
    ...report.tasks.map((t) => `${t.error?.name} ${t.error?.message}`),
  ];
}

function forms(value: string): string[] {
  return [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)].filter(
    (v) => v.length >= MIN_MASKED_LENGTH,
  );
}

const secretValue = fc
  .oneof(
    fc.string({ minLength: MIN_MASKED_LENGTH, maxLength: 40, unit: "grapheme" }),
    fc
      .array(
        fc.constantFrom(
          '"',
          "\\",
          "\n",
          "\r\n",
          "\t",
          "/",
          "+",
          "=",
          "%",
          " ",
          "é",
          "漢",
          "😀",
          "a",
          "Z",
          "0",
          "-",
        ),
        {
          minLength: MIN_MASKED_LENGTH,
          maxLength: 30,
        },
      )
      .map((parts) => parts.join("")),
    fc.uint8Array({ minLength: 3, maxLength: 48 }).map((bytes) => Buffer.from(bytes).toString("base64")),
    fc.string({ minLength: 2, maxLength: 20 }).map((s) => encodeURIComponent(s)),
    fc.string({ minLength: 2, maxLength: 20 }).map((s) => JSON.stringify(`${s}"\n${s}`).slice(1, -1)),
  )
  .filter((v) => v.length >= MIN_MASKED_LENGTH && v.trim().length > 0);

describe("no secret value reaches a report, log line, hook or error", () => {
  it.each(["text", "json"] as const)("holds for random values in %s logs", async (format) => {
    // Text the scenario prints whatever the secrets are: a value inside it could not be told from a leak.
    const baseline = (await everythingProduced("PLACEHOLDER-RUN-1", "PLACEHOLDER-ARG-2", format)).join("\n");
    await fc.assert(
      fc.asyncProperty(secretValue, secretValue, async (runSecret, argumentSecret) => {
        fc.pre(![...forms(runSecret), ...forms(argumentSecret)].some((v) => baseline.includes(v)));
        fc.pre(!runSecret.includes(argumentSecret) && !argumentSecret.includes(runSecret));
        const produced = await everythingProduced(runSecret, argumentSecret, format);
        for (const text of produced) {
          for (const value of [...forms(runSecret), ...forms(argumentSecret)]) {
            if (text.includes(value))
              throw new Error(`leaked ${JSON.stringify(value)} in ${text.slice(0, 300)}`);
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it("does test something: the scenario really handles the values", async () => {
    const produced = (await everythingProduced("visible-run-secret", "visible-arg-secret", "text")).join(
      "\n",
    );
    expect(produced).toContain("[redacted]");
    expect(produced).toContain("using [redacted] and [redacted]");
    expect(produced).toContain("MY_RUN_SECRET from run");
    expect(produced).toContain("MY_ARG_SECRET from argument (token)");
    expect(produced).toContain("A non-Error value was thrown");
  });
});

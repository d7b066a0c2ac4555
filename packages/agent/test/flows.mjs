// Test-only: the flows behind the `test://` addresses that the agent tests queue, shared by the in-process
// runner of test-agent-process.ts and by test-run-process.mjs (which stands in for `tributary run`).

import { randomBytes } from "node:crypto";
import { appendFileSync } from "node:fs";
import { resolveSecret, withSecrets } from "@tributary/auth";
import { flow, task } from "@tributary/flow";

const quiet = { level: "silent" };
const sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });

const step = task({ name: "step" }, async (ms) => {
  await sleep(ms);
  return ms;
});
const breaks = task({ name: "breaks" }, async (value) => {
  throw new Error(`could not use ${value}`);
});

const flows = {
  // Logs at info: the provenance of GIVEN_TOKEN (the agent's -e) and of BACKEND_TOKEN (a declared secret that
  // a backend holds), then fails in its second task when params.fail is set, with the -e value in the message.
  creds: flow({ name: "creds", secrets: ["BACKEND_TOKEN"] }, async ({ params }) => {
    const { value } = await resolveSecret("GIVEN_TOKEN");
    await step(5);
    if (params?.fail) await breaks(value);
    return { length: String(value).length };
  }),
  // Logs params.lines lines of params.size more characters, then sleeps params.ms.
  chatty: flow({ name: "chatty" }, async ({ params, log, signal }) => {
    for (let i = 0; i < params.lines; i++) log.info(`line ${i} ${"x".repeat(params.size ?? 0)}`);
    if (params.ms) await sleep(params.ms, signal);
    return { ok: true };
  }),
  // A secret of its own for each run (as a rotated credential would be): logged, returned and thrown, masked.
  leak: flow({ name: "leak" }, async ({ params, runId }) => {
    const value = `leak-${runId}-${randomBytes(12).toString("hex")}`;
    if (params?.log) appendFileSync(params.log, `${value}\n`);
    return withSecrets({ LEAK_TOKEN: value }, async () => {
      const { value: got } = await resolveSecret("LEAK_TOKEN");
      if (params?.fail) throw new Error(`refused ${got}`);
      return { got };
    });
  }),
  noop: flow({ name: "noop", logger: quiet }, () => ({ ok: true })),
  env: flow({ name: "env", logger: quiet }, () => Object.keys(process.env).sort()),
  // Records which process ran it, so tests can count executions; sleeps `params.ms` first.
  record: flow({ name: "record", logger: quiet }, async ({ params, runId, signal }) => {
    if (params?.log) appendFileSync(params.log, `start ${runId} ${process.pid}\n`);
    if (params?.ms) await sleep(params.ms, signal);
    if (params?.log) appendFileSync(params.log, `end ${runId} ${process.pid}\n`);
    return { pid: process.pid };
  }),
  // Returns the secret named in params: the report must show it masked.
  secret: flow({ name: "secret", logger: quiet }, async ({ params }) => {
    const { value } = await resolveSecret(params.name);
    return { value, length: String(value).length };
  }),
  // Fails with a message that holds the secret named in params.
  fail: flow({ name: "fail", logger: quiet }, async ({ params }) => {
    const { value } = await resolveSecret(params.name);
    throw new Error(`could not use ${value}`);
  }),
};

/** The flow at a `test://NAME` address. */
export function testFlow(address) {
  const found = flows[address.replace(/^test:\/\//, "")];
  if (!found) throw new Error(`no test flow at ${address}`);
  return found;
}

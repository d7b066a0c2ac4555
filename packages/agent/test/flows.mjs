// Test-only: the flows behind the `test://` addresses that the agent tests queue, shared by the in-process
// runner of test-agent-process.ts and by test-run-process.mjs (which stands in for `tributary run`).
import { appendFileSync } from "node:fs";
import { resolveSecret } from "@tributary/auth";
import { flow } from "@tributary/flow";

const quiet = { level: "silent" };
const sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });

const flows = {
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

// Test-only: stands in for `tributary run ADDRESS --run-id ID --params JSON --json` as an agent's child process.
import { parseArgs } from "node:util";
import { testFlow } from "./flows.mjs";

const { positionals, values } = parseArgs({
  args: process.argv.slice(2),
  options: { "run-id": { type: "string" }, params: { type: "string" }, json: { type: "boolean" } },
  allowPositionals: true,
});
const [, address] = positionals;
const report = await testFlow(address).run({
  runId: values["run-id"],
  params: values.params === undefined ? undefined : JSON.parse(values.params),
});
process.stdout.write(JSON.stringify(report));
process.exitCode = report.state === "completed" ? 0 : 1;

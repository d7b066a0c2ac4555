// Test-only: stands in for `tributary run ADDRESS --run-id ID --params JSON --json` as an agent's child process.
import { parseArgs } from "node:util";
import { directoryBackend } from "@tributary/auth";
import { testFlow } from "./flows.mjs";

const { positionals, values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    "run-id": { type: "string" },
    params: { type: "string" },
    json: { type: "boolean" },
    "secrets-dir": { type: "string" },
  },
  allowPositionals: true,
});
const [, address] = positionals;
const report = await testFlow(address).run({
  runId: values["run-id"],
  params: values.params === undefined ? undefined : JSON.parse(values.params),
  ...(values["secrets-dir"] ? { backends: [directoryBackend(values["secrets-dir"])] } : {}),
});
process.stdout.write(JSON.stringify(report));
process.exitCode = report.state === "completed" ? 0 : 1;

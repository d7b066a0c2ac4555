// Prints every failed test found in the JSON reports that vitest wrote to the folder given as the first argument
// (see vitest.shared.ts): package, Node version, file, test name and the first lines of its message.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

const folder = process.argv[2];
let files = [];
try {
  files = readdirSync(folder).filter((name) => name.endsWith(".json"));
} catch {
  console.log(`ci: no test reports in ${folder}`);
  process.exit(0);
}
let failed = 0;
for (const name of files.sort()) {
  let report;
  try {
    report = JSON.parse(readFileSync(join(folder, name), "utf8"));
  } catch (error) {
    console.log(`ci: ${name}: unreadable report (${error.message})`);
    continue;
  }
  for (const file of report.testResults ?? []) {
    const where = relative(process.cwd(), file.name);
    const tests = file.assertionResults ?? [];
    if (file.status === "failed" && !tests.some((test) => test.status === "failed")) {
      failed += 1;
      console.log(
        `\nFAILED ${name.replace(/\.json$/, "")} ${where} (the file itself)\n${indent(file.message)}`,
      );
    }
    for (const test of tests) {
      if (test.status !== "failed") continue;
      failed += 1;
      console.log(`\nFAILED ${name.replace(/\.json$/, "")} ${where} > ${test.fullName}`);
      console.log(indent((test.failureMessages ?? []).join("\n")));
    }
  }
}
console.log(
  failed === 0 ? "ci: the test reports show no failed test" : `\nci: ${failed} failed test(s) above`,
);

function indent(text = "") {
  return text
    .split("\n")
    .filter((line) => !/^\s+at .*node_modules/.test(line) && !/^\s+at new Promise/.test(line))
    .slice(0, 25)
    .map((line) => `    ${line}`)
    .join("\n");
}

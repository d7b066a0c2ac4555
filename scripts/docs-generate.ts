// Generates the reference part of the docs site (never edited by hand, not committed):
// - docs/reference/api/: TypeDoc (markdown plugin) for every package under packages/, from the TSDoc comments.
//   typedoc.json makes a public export without a comment a warning, and warnings fail: so does this script. It
//   also disables source references in every package (`packageOptions`), so TypeDoc asks git nothing and the
//   reference builds without a git remote (a source tarball, a fresh `git init`): scripts/docs-fresh-checkout.ts.
// - docs/reference/cli.md: the `tributary` command's own usage text (packages/cli/src/usage.ts), every `*_USAGE`.
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const reference = join(root, "docs", "reference");

rmSync(reference, { recursive: true, force: true });
mkdirSync(reference, { recursive: true });

const typedoc = spawnSync("npx", ["typedoc", "--options", "typedoc.json", "--logLevel", "Warn"], {
  cwd: root,
  stdio: "inherit",
});
if (typedoc.status !== 0) {
  console.error(
    "docs: TypeDoc failed (above); its warnings are errors. A public export without a /** comment */ is one: add it.",
  );
  process.exit(1);
}

const usage: Record<string, unknown> = await import("../packages/cli/src/usage.ts");
const texts = Object.entries(usage).filter(
  (entry): entry is [string, string] => entry[0].endsWith("_USAGE") && typeof entry[1] === "string",
);
if (!texts.some(([name]) => name === "MAIN_USAGE")) {
  console.error("docs: packages/cli/src/usage.ts exports no MAIN_USAGE");
  process.exit(1);
}

/** "Usage: tributary secrets set NAME" → "tributary secrets set". */
function commandOf(text: string): string {
  const line = /^Usage: (tributary(?: [a-z][a-z-]*)*)/m.exec(text)?.[1];
  return line ?? "tributary";
}

const sections = texts
  .map(([name, text]) => ({ name, text, command: commandOf(text) }))
  .sort((a, b) =>
    a.name === "MAIN_USAGE" ? -1 : b.name === "MAIN_USAGE" ? 1 : a.command.localeCompare(b.command),
  );

const page = [
  "# CLI reference",
  "",
  "Generated from the `tributary` command's own help text (`packages/cli/src/usage.ts`): what you read here is",
  "what `tributary <command> --help` prints. The [guide to the command](../cli.md) explains it with examples.",
  "",
  ...sections.flatMap(({ command, text }) => [`## \`${command}\``, "", "```text", text, "```", ""]),
].join("\n");
writeFileSync(join(reference, "cli.md"), page);
console.log(`docs: reference generated (${sections.length} CLI help texts)`);

// Regenerates the table in docs/default-secret-names.md from the registry in @tributary/auth.
import { readFileSync, writeFileSync } from "node:fs";
import { secretsTableMarkdown } from "@tributary/auth";

const path = new URL("../docs/default-secret-names.md", import.meta.url);
const page = readFileSync(path, "utf8");
const start = "<!-- secrets-table:start -->";
const end = "<!-- secrets-table:end -->";
const before = page.slice(0, page.indexOf(start) + start.length);
const after = page.slice(page.indexOf(end));
writeFileSync(path, `${before}\n${secretsTableMarkdown()}\n${after}`);
console.log(`updated ${path.pathname}`);

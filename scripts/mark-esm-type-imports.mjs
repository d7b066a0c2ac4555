// Marks imports of ESM-only packages in a CommonJS declaration file (`dist/index.d.cts`) with
// `with { "resolution-mode": "import" }`, so that a CommonJS consumer under `moduleResolution: node16` can read the
// types (TS1479 otherwise). The bundler that writes the declarations drops the attribute written in the source.
// Usage: node scripts/mark-esm-type-imports.mjs dist/index.d.cts @octokit/rest [more packages…]
import { readFileSync, writeFileSync } from "node:fs";

const [file, ...packages] = process.argv.slice(2);
if (!file || packages.length === 0) throw new Error("usage: mark-esm-type-imports.mjs FILE PACKAGE...");
let text = readFileSync(file, "utf8");
for (const name of packages) {
  const quoted = `'${name}'`;
  const pattern = new RegExp(`^(import [^;]*? from ${quoted.replace(/[/.@]/g, "\\$&")});$`, "gm");
  const before = text;
  text = text.replace(
    pattern,
    (_, statement) =>
      `${statement.replace(/^import (?!type )/, "import type ")} with { "resolution-mode": "import" };`,
  );
  if (text === before) throw new Error(`${file}: no import of ${name} to mark`);
}
writeFileSync(file, text);

// Preloaded with `node --import ./scripts/trace-imports.mjs` by scripts/import-cost.ts: records every module the
// process loads, as one JSON line `{ "from", "specifier", "to" }` (the file that asked, what it asked for, the file
// loaded) appended to the file named by TRIBUTARY_TRACE_IMPORTS. Plain JavaScript, so that the traced process loads
// nothing but what it is asked to (no TypeScript loader).
//
// Two loaders, two taps, both public or long-stable hooks that work on Node 20, 22 and 24:
// - ES modules (`import`, `import()`, including an ES module importing a CommonJS one): a `resolve` hook registered
//   with `module.register`. It runs on the loader's own thread, so it appends to the file itself (synchronously,
//   before the module is loaded).
// - CommonJS (`require`, including everything a CommonJS SDK requires inside itself): `Module._load`, wrapped (the
//   same tap require-in-the-middle and APM agents use), resolving the request the way `require` does.
// Node's built-ins are left out: only files count.
import { appendFileSync } from "node:fs";
import { createRequire, isBuiltin, register } from "node:module";
import { fileURLToPath } from "node:url";
import { isMainThread } from "node:worker_threads";

const log = process.env.TRIBUTARY_TRACE_IMPORTS;

/** Appends one load; `from` is absent for the process's own entry. */
function record(from, specifier, to) {
  if (!log) return;
  appendFileSync(log, `${JSON.stringify({ from, specifier, to })}\n`);
}

const asPath = (url) => (url?.startsWith("file:") ? fileURLToPath(url) : url);

/** The ES module hook (runs on the loader thread). */
export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (resolved.url.startsWith("file:")) record(asPath(context.parentURL), specifier, asPath(resolved.url));
  return resolved;
}

if (isMainThread && log) {
  register(import.meta.url);
  const Module = createRequire(import.meta.url)("node:module");
  const load = Module._load;
  Module._load = function tracedLoad(request, parent, isMain, ...rest) {
    if (!isBuiltin(request)) {
      try {
        record(parent?.filename, request, Module._resolveFilename(request, parent, isMain));
      } catch {
        // Not resolvable: `load` below throws Node's own error.
      }
    }
    return load.call(this, request, parent, isMain, ...rest);
  };
}

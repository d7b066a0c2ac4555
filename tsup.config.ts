// Shared by every package's `tsup` build: tsup looks for its config up from the package's folder (auth and cli have
// their own, which spread `sharedOptions`).
import { createRequire, isBuiltin } from "node:module";
import { dirname, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig, type Options } from "tsup";

type Plugin = NonNullable<Options["esbuildPlugins"]>[number];

/**
 * Source maps keep their mappings (stack traces point at src/*.ts) without a copy of every source file: a process
 * with source maps enabled (tsx, --enable-source-maps) holds each loaded map in memory, sources and all.
 */
export function withoutSourcesContent(options: { sourcesContent?: boolean }): void {
  options.sourcesContent = false;
}

const LOADER = "tributary-builtin-loader";
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
/**
 * Built-ins loaded by the first call of one of their functions, not when the package is imported: on Node 24
 * `node:crypto` costs 4 ms and `node:fs/promises` 1 ms (it loads `readline`), and a flow that never hashes nor
 * reads the local store need neither. Their functions are reached through a wrapper; their classes and values are
 * read when the package is imported, like any other built-in's.
 */
const LOADED_ON_FIRST_CALL = new Set(["node:crypto", "node:fs/promises"]);

/**
 * In the ES module build, `import { x } from "node:<module>"` reads `x` from `process.getBuiltinModule` instead.
 * An ES import of a built-in builds its whole namespace, which runs every lazy getter of the module: on Node 24,
 * `node:util` then loads `parseArgs`, `diff` and `worker_threads`, `node:fs` loads `fs/promises` and `readline`,
 * `node:crypto` loads `webcrypto`: 5 ms of every cold import of an integration on Node 24, for modules it never
 * uses (`bench/imports.bench.ts`). Each imported name stays a binding made once, when the module is evaluated, as an
 * ES import's is (except the functions of `LOADED_ON_FIRST_CALL`); a name the bundle does not use is dropped.
 * Dynamic `import()`s and the CommonJS build are left as they are. Node 22.0–22.2, which have no
 * `process.getBuiltinModule`, get the module from `createRequire`.
 */
export const builtinsWithoutNamespaces: Plugin = {
  name: "builtins-without-namespaces",
  setup(build) {
    if (build.initialOptions.format !== "esm") return;
    const require = createRequire(import.meta.url);
    build.onResolve({ filter: /^[a-z0-9_:/]+$/ }, (args) => {
      if (args.kind !== "import-statement" || args.namespace === "builtin" || !isBuiltin(args.path)) return;
      const id = args.path.startsWith("node:") ? args.path : `node:${args.path}`;
      return { path: id, namespace: "builtin" };
    });
    build.onResolve({ filter: new RegExp(`^${LOADER}$`) }, () => ({ path: LOADER, namespace: "builtin" }));
    build.onLoad({ filter: /.*/, namespace: "builtin" }, (args) => {
      if (args.path === LOADER) {
        return {
          contents: `import { createRequire } from "node:module";
export const loadBuiltin = process.getBuiltinModule ?? createRequire(import.meta.url);
`,
          loader: "js",
        };
      }
      const builtin = require(args.path) as Record<string, unknown>;
      const names = Object.getOwnPropertyNames(builtin).filter(
        (name) => IDENTIFIER.test(name) && name !== "default",
      );
      const id = JSON.stringify(args.path);
      const onFirstCall = LOADED_ON_FIRST_CALL.has(args.path);
      // A plain function (not a class, whose name is capitalised) of a module loaded on first call.
      const deferred = (name: string) =>
        onFirstCall &&
        !/^[A-Z]/.test(name) &&
        typeof Object.getOwnPropertyDescriptor(builtin, name)?.value === "function";
      const lines = [
        `import { loadBuiltin } from "${LOADER}";`,
        onFirstCall
          ? `let loaded;\nconst m = () => (loaded ??= loadBuiltin(${id}));`
          : `const m = loadBuiltin(${id});`,
        `export default ${onFirstCall ? "/* @__PURE__ */ m()" : "m"};`,
        // Pure: a name the bundle never reads is dropped, and its getter (if it is one) never runs.
        ...names.map((name) =>
          deferred(name)
            ? `export const ${name} = (...args) => m().${name}(...args);`
            : `export const ${name} = /* @__PURE__ */ (() => ${onFirstCall ? "m()" : "m"}.${name})();`,
        ),
      ];
      return { contents: `${lines.join("\n")}\n`, loader: "js" };
    });
    // The generated modules are named after this file in the source maps: a map naming a source that does not exist
    // makes Vite warn about every package that imports it.
    const config = fileURLToPath(import.meta.url);
    build.onEnd((result) => {
      for (const [index, file] of (result.outputFiles ?? []).entries()) {
        if (!file.path.endsWith(".map")) continue;
        const map = JSON.parse(file.text) as { sources: string[] };
        if (!map.sources.some((source) => source.startsWith("builtin:"))) continue;
        const here = relative(dirname(file.path), config);
        map.sources = map.sources.map((source) => (source.startsWith("builtin:") ? here : source));
        const contents = new TextEncoder().encode(JSON.stringify(map));
        (result.outputFiles as (typeof file)[])[index] = {
          path: file.path,
          hash: file.hash,
          contents,
          text: new TextDecoder().decode(contents),
        };
      }
    });
  },
};

/** What every package's build shares: tsup's own plugin would take `node:` imports before `builtinsWithoutNamespaces`. */
export const sharedOptions = {
  esbuildOptions: withoutSourcesContent,
  esbuildPlugins: [builtinsWithoutNamespaces],
  removeNodeProtocol: false,
} satisfies Options;

export default defineConfig(sharedOptions);

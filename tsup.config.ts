// Shared by every package's `tsup` build: tsup looks for its config up from the package's folder (auth and cli have
// their own, which use `withoutSourcesContent` and `builtinsWithoutNamespaces` too).
import { createRequire, isBuiltin } from "node:module";
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
 * In the ES module build, `import { x } from "node:<module>"` reads `x` from `process.getBuiltinModule` instead.
 * An ES import of a built-in builds its whole namespace, which runs every lazy getter of the module: on Node 24,
 * `node:util` then loads `parseArgs`, `diff` and `worker_threads`, `node:fs` loads `fs/promises` and `readline`,
 * `node:crypto` loads `webcrypto`: 5 ms of every cold import of an integration, for modules it never uses
 * (`bench/imports.bench.ts`). Each imported name stays a binding made once, when the module is evaluated, as an ES
 * import's is; a name the bundle does not use is dropped. Dynamic `import()`s and the CommonJS build are left as
 * they are. Node 22.0–22.2, which have no `process.getBuiltinModule`, get the module from `createRequire`.
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
      const names = Object.getOwnPropertyNames(require(args.path)).filter(
        (name) => IDENTIFIER.test(name) && name !== "default",
      );
      const lines = [
        `import { loadBuiltin } from "${LOADER}";`,
        `const m = loadBuiltin(${JSON.stringify(args.path)});`,
        "export default m;",
        // Pure: a name the bundle never reads is dropped, and its getter (if it is one) never runs.
        ...names.map((name) => `export const ${name} = /* @__PURE__ */ (() => m.${name})();`),
      ];
      return { contents: `${lines.join("\n")}\n`, loader: "js" };
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

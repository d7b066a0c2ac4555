import { fileURLToPath } from "node:url";
import type * as TS from "typescript";

/** One storage operation of docs/conventions.md: the options it takes and the keys its result has. */
export interface StorageOperation {
  /** Options every integration's task for it takes. */
  options: readonly string[];
  /** Keys its result has (on every member of a union); `[]` for a `boolean` result. */
  result: readonly string[];
}

/** The object-storage table of docs/conventions.md, by the action that ends a task's name. */
export const STORAGE_OPERATIONS: Readonly<Record<string, StorageOperation>> = {
  Upload: {
    options: ["bucket", "key", "file", "body", "contentType", "metadata", "onProgress"],
    result: ["bucket", "key", "size", "etag"],
  },
  Download: {
    options: ["bucket", "key", "destination", "as", "range"],
    result: ["bucket", "key", "size", "etag", "contentType"],
  },
  List: {
    options: ["bucket", "prefix", "delimiter", "pageSize", "limit"],
    result: ["objects", "prefixes", "truncated"],
  },
  Copy: { options: ["from", "to"], result: ["bucket", "key", "etag"] },
  Delete: { options: ["bucket", "key", "keys", "mustExist"], result: ["deleted"] },
  Exists: { options: ["bucket", "key"], result: [] },
};

/** Option names the table spells another way: the name an integration must not use, and the one it should. */
export const OPTION_SYNONYMS: Readonly<Record<string, string>> = {
  baseUrl: "endpoint",
  apiUrl: "endpoint",
  slackApiUrl: "endpoint",
  maxResults: "limit",
  maxKeys: "limit",
  ignoreNotFound: "mustExist",
  ignoreMissing: "mustExist",
  sourceBucket: "from.bucket",
  sourceKey: "from.key",
  destinationBucket: "to.bucket",
  destinationName: "to.key",
  destinationKey: "to.key",
  objectName: "key",
};

/** The error classes every integration exports, so that one import is enough to catch what it throws. */
export const EXPORTED_ERRORS = [
  "TributaryError",
  "ValidationError",
  "MissingCredentialsError",
  "InvalidSecretError",
  "CredentialRejectedError",
  "ServiceError",
] as const;

/** The options of `checkConventions`. */
export interface CheckConventionsOptions {
  /** The package's entry (`src/index.ts`), as a path or a `file:` URL. */
  entry: string | URL;
  /** The service prefixes its task names start with, such as `["s3"]` or `["github"]`. */
  prefixes: readonly string[];
}

/**
 * Reads a package's exported tasks and client factories with the TypeScript compiler and lists every departure from
 * docs/conventions.md: a task not named `<service><Action>`, an option spelt as a synonym (`maxResults`,
 * `destinationBucket`, `baseUrl` …), a storage task without the table's options or result keys, a client factory
 * without `endpoint`, a missing error class export. An empty list means the package follows the table. Needs the
 * `typescript` package.
 * @example
 * expect(await checkConventions({ entry: new URL("./index.ts", import.meta.url), prefixes: ["s3"] })).toEqual([]);
 */
export async function checkConventions(options: CheckConventionsOptions): Promise<string[]> {
  const ts =
    ((await import("typescript")) as unknown as { default?: typeof TS }).default ??
    (await import("typescript"));
  const entry = options.entry instanceof URL ? fileURLToPath(options.entry) : options.entry;
  const program = ts.createProgram([entry], {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  const moduleSymbol = source && checker.getSymbolAtLocation(source);
  if (!source || !moduleSymbol) return [`cannot read ${entry}`];
  const problems: string[] = [];
  const exports = checker.getExportsOfModule(moduleSymbol);
  const names = new Set(exports.map((s) => s.getName()));
  for (const error of EXPORTED_ERRORS) {
    if (!names.has(error))
      problems.push(`does not export ${error}: users must be able to catch what it throws`);
  }

  const propertyNames = (type: TS.Type): string[] => {
    const constraint = type.isTypeParameter() ? (checker.getBaseConstraintOfType(type) ?? type) : type;
    const members = constraint.isUnion() ? constraint.types : [constraint];
    return [...new Set(members.flatMap((t) => checker.getPropertiesOfType(t).map((p) => p.getName())))];
  };
  const awaited = (type: TS.Type): TS.Type => checker.getAwaitedType(type) ?? type;

  for (const symbol of exports) {
    const name = symbol.getName();
    const resolved = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    if (!(resolved.flags & (ts.SymbolFlags.Variable | ts.SymbolFlags.Function))) continue;
    const type = checker.getTypeOfSymbolAtLocation(resolved, source);
    const signatures = type.getCallSignatures();
    if (signatures.length === 0) continue;
    const isTask = checker.getPropertyOfType(type, "taskName") !== undefined;
    const prefix = options.prefixes.find((p) => new RegExp(`^${p}[A-Z]`).test(name));
    const firstParams = signatures.flatMap((s) => {
      const first = s.getParameters()[0];
      if (!first) return [];
      const t = checker.getTypeOfSymbolAtLocation(first, source);
      // A task's signature is `(...args: [options: X])`: the options are the tuple's first element.
      if (checker.isTupleType(t)) return checker.getTypeArguments(t as TS.TypeReference).slice(0, 1);
      return [t];
    });
    const optionNames = [...new Set(firstParams.flatMap(propertyNames))];

    if (/Client$/.test(name) && prefix) {
      if (!optionNames.includes("endpoint")) problems.push(`${name}: a client factory takes \`endpoint\``);
    }
    if (!isTask) continue;
    if (!prefix) {
      problems.push(`${name}: a task is named <service><Action> with one of ${options.prefixes.join(", ")}`);
      continue;
    }
    for (const option of optionNames) {
      const better = Object.hasOwn(OPTION_SYNONYMS, option) ? OPTION_SYNONYMS[option] : undefined;
      if (better)
        problems.push(`${name}: option \`${option}\` is spelt \`${better}\` in docs/conventions.md`);
    }
    const action = name.slice(prefix.length);
    const operation = STORAGE_OPERATIONS[action];
    if (action === "Upload" && optionNames.includes("content"))
      problems.push(
        `${name}: an upload's bytes or text are \`body\` (and a path is \`file\`), not \`content\``,
      );
    // Storage tasks are the ones addressing a bucket; `slackUpload` follows only the rules above.
    if (!operation || (action !== "Copy" && !optionNames.includes("bucket"))) continue;
    if (optionNames.includes("name")) problems.push(`${name}: the object's key is \`key\`, not \`name\``);
    for (const option of operation.options) {
      if (!optionNames.includes(option)) problems.push(`${name}: missing option \`${option}\``);
    }
    for (const signature of signatures) {
      const result = awaited(signature.getReturnType());
      const members = result.isUnion() ? result.types : [result];
      for (const member of members) {
        if (operation.result.length === 0) {
          if (!(member.flags & ts.TypeFlags.BooleanLike))
            problems.push(`${name}: returns ${checker.typeToString(member)}, not a boolean`);
          continue;
        }
        const keys = checker.getPropertiesOfType(member).map((p) => p.getName());
        for (const key of operation.result) {
          if (!keys.includes(key))
            problems.push(`${name}: result ${checker.typeToString(member)} lacks \`${key}\``);
        }
        if (action === "Download" && !keys.includes("path") && !keys.includes("body")) {
          problems.push(`${name}: a download result has \`path\` (a file) or \`body\``);
        }
      }
    }
  }
  return [...new Set(problems)];
}

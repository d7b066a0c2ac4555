import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import {
  describeSource,
  ENV_PREFIX,
  listSecrets,
  localStore,
  resolveSecret,
  type SecretBackend,
  type SecretSource,
  TributaryError,
  ValidationError,
  withSecrets,
} from "@tributary/auth";
import type { DeploymentManifest, Flow, FlowStorage, StorageKind } from "@tributary/flow";
import { signingKey } from "./keys-command.js";

/** `tributary deploy` refused: the module does not compile, holds a secret, names no flow or no storage. Nothing was written. */
export class DeployError extends TributaryError {
  static override readonly errorName: string = "DeployError";
}

/** The options of `deployFlow`. */
export interface DeployFlowOptions {
  /** Where to deploy (a storage address such as `s3://flows/prod/`), instead of the flow's own `storage`. */
  storage?: string;
  /** Which exported flow, when the module exports several. */
  flow?: string;
  /** The storage kinds `storage` may name. Default: the one its scheme names, from its package (`storageKindsFor`). */
  kinds?: readonly StorageKind[];
  /** Aborts the upload. */
  signal?: AbortSignal;
  /**
   * Signs the deployment with the Ed25519 private key held by this secret name (resolved like any secret: run
   * values, environment, local store, backends), such as `"TRIBUTARY_SIGNING_KEY"`: a DSSE envelope written beside
   * the bundle as `manifest.sig.json`. Read before anything is built, so a missing key writes nothing.
   */
  signingKey?: string;
  /** Secret backends asked for `signingKey` after the environment and the local store (a config file's). */
  backends?: readonly SecretBackend[];
}

/** What `deployFlow` did. */
export interface DeployFlowResult {
  /** The deployment's address, for `tributary run` and the agent. */
  address: string;
  /** The manifest written beside the bundle. */
  manifest: DeploymentManifest;
  /** With `signingKey`: the key id and label of the key that signed it. */
  signedBy?: { keyId: string; label: string | undefined };
}

/** Values shorter than this are not searched for in a bundle: too many innocent matches. */
const MIN_SCANNED_LENGTH = 8;

/** The dependency names of the nearest package.json above `file`: they stay external. */
function userDependencies(file: string): string[] {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const path = join(dir, "package.json");
    if (existsSync(path)) {
      try {
        const pkg = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
        const names = ["dependencies", "peerDependencies", "optionalDependencies"].flatMap((field) =>
          Object.keys((pkg[field] as Record<string, string> | undefined) ?? {}),
        );
        return [...new Set(names)];
      } catch {
        throw new DeployError("PACKAGE_JSON_INVALID", `${path} is not valid JSON`);
      }
    }
    if (dirname(dir) === dir) return [];
  }
}

interface Built {
  bytes: Uint8Array;
  /** Source files that went into the bundle, absolute. */
  inputs: string[];
  /** The `@tributary/*` packages the bundle imports. */
  tributary: string[];
}

async function bundle(file: string): Promise<Built> {
  const esbuild = await import("esbuild");
  const external = ["@tributary/*", ...userDependencies(file).flatMap((name) => [name, `${name}/*`])];
  const workingDir = dirname(file);
  let result: Awaited<ReturnType<typeof esbuild.build>>;
  try {
    result = await esbuild.build({
      entryPoints: [file],
      absWorkingDir: workingDir,
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node20",
      write: false,
      metafile: true,
      external,
      logLevel: "silent",
      legalComments: "none",
    });
  } catch (error) {
    const errors = (
      error as {
        errors?: { text: string; location?: { file: string; line: number; column: number } | null }[];
      }
    ).errors;
    if (!Array.isArray(errors)) throw error;
    const lines = errors.slice(0, 5).map((e) => {
      const at = e.location ? `${e.location.file}:${e.location.line}:${e.location.column + 1}: ` : "";
      return `  ${at}${e.text}`;
    });
    throw new DeployError("COMPILE_FAILED", `${file} does not compile:\n${lines.join("\n")}`);
  }
  const output = result.outputFiles?.[0];
  if (!output) throw new DeployError("COMPILE_FAILED", `${file}: esbuild wrote no output`);
  const meta = result.metafile ?? { inputs: {}, outputs: {} };
  const imports = Object.values(meta.outputs).flatMap((o) =>
    o.imports.filter((i) => i.external).map((i) => i.path),
  );
  const tributary = [
    ...new Set(
      imports.filter((p) => p.startsWith("@tributary/")).map((p) => p.split("/").slice(0, 2).join("/")),
    ),
  ];
  return {
    bytes: output.contents,
    inputs: Object.keys(meta.inputs).map((p) => resolve(workingDir, p)),
    tributary,
  };
}

/** The string leaves of a value (a token, the fields of a JSON credential). */
function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === "string") out.push(value);
  else if (value && typeof value === "object") for (const v of Object.values(value)) strings(v, out);
  return out;
}

/** Every secret name this shell can resolve: registered names, `TRIBUTARY__CONTEXT__SECRETS__*` and the store. */
function namesToScan(extra: readonly string[]): string[] {
  const names = new Set<string>([...listSecrets().map((d) => d.name), ...extra]);
  for (const key of Object.keys(process.env)) {
    if (key.startsWith(ENV_PREFIX)) names.add(key.slice(ENV_PREFIX.length).split("__")[0] as string);
  }
  try {
    for (const name of localStore().names()) names.add(name);
  } catch {
    // A store that cannot be read is reported by `tributary doctor`; its values cannot be in the bundle's check.
  }
  return [...names].filter((n) => /^[A-Z][A-Z0-9_]*$/.test(n));
}

/** Where `needle` first occurs in the bundle's sources: `file:line`, relative to the flow's folder. */
function locate(needle: string, inputs: readonly string[], base: string): string | undefined {
  for (const input of inputs) {
    let text: string;
    try {
      text = readFileSync(input, "utf8");
    } catch {
      continue;
    }
    const at = text.indexOf(needle);
    if (at !== -1) return `${relative(base, input) || input}:${text.slice(0, at).split("\n").length}`;
  }
  return undefined;
}

/**
 * Refuses a bundle holding the value of a secret resolvable here (a token pasted into code), naming the secret,
 * where its value comes from and the source line, never the value.
 */
async function refuseSecrets(built: Built, names: readonly string[], base: string): Promise<void> {
  const text = Buffer.from(built.bytes).toString("utf8");
  for (const name of names) {
    let value: unknown;
    let source: SecretSource;
    try {
      ({ value, source } = await resolveSecret(name));
    } catch {
      continue;
    }
    for (const leaf of strings(value)) {
      if (leaf.length < MIN_SCANNED_LENGTH) continue;
      const escaped = JSON.stringify(leaf).slice(1, -1);
      if (!text.includes(leaf) && !text.includes(escaped)) continue;
      const where = locate(leaf, built.inputs, base) ?? locate(escaped, built.inputs, base) ?? "the bundle";
      throw new DeployError(
        "SECRET_IN_BUNDLE",
        `the bundle contains the value of secret ${name} (from ${describeSource(source)}) at ${where}: read it with resolveSecret("${name}") or a task's credential options instead of writing it in code. Nothing was deployed.`,
      );
    }
  }
}

/** The version of each `@tributary/*` package the bundle imports, as installed for the flow's folder. */
async function versions(names: readonly string[], from: string): Promise<Record<string, string>> {
  const found = (await import("@tributary/flow")).installedVersions(names, from);
  const missing = names.find((name) => found[name] === undefined);
  if (missing !== undefined) {
    throw new DeployError(
      "DEPENDENCY_MISSING",
      `the flow imports ${missing}, which is not installed for ${from}: install it (it stays external to the bundle)`,
    );
  }
  return found;
}

function pickFlow(flows: readonly Flow[], wanted: string | undefined, file: string): Flow {
  const names = flows.map((f) => `"${f.name}"`).join(", ");
  if (wanted !== undefined) {
    const found = flows.find((f) => f.name === wanted);
    if (!found)
      throw new DeployError(
        "FLOW_NOT_FOUND",
        `${file} exports no flow named "${wanted}" (flows: ${names || "none"})`,
      );
    return found;
  }
  if (flows.length === 0)
    throw new DeployError("FLOW_NOT_FOUND", `${file} exports no flow: export the value flow() returns`);
  if (flows.length > 1)
    throw new DeployError(
      "FLOW_AMBIGUOUS",
      `${file} exports several flows (${names}): choose one with --flow NAME`,
    );
  return flows[0] as Flow;
}

/**
 * Bundles a flow module with esbuild (the user's code in one ES module; `@tributary/*`, Node built-ins and the
 * packages of the nearest package.json stay external) and writes the bundle and its manifest to the flow's
 * storage (or `storage`); with `signingKey`, signs it for its address. Refuses, before writing anything: a module
 * that does not compile (esbuild's message with file and line), a bundle holding the value of any secret
 * resolvable here, a flow with no storage, a signing key that cannot be found or read.
 * @example
 * const { address, manifest } = await deployFlow("flows/nightly.ts");
 * console.log(address, manifest.secrets);
 */
export async function deployFlow(file: string, options: DeployFlowOptions = {}): Promise<DeployFlowResult> {
  if (typeof file !== "string" || file === "")
    throw new ValidationError("file", "give the flow's module file");
  const path = resolve(file);
  if (!existsSync(path) || !statSync(path).isFile())
    throw new ValidationError("file", `${file} is not a file`);
  const flowModule = await import("@tributary/flow");
  // The key is read first: a deployment that should be signed is not written unsigned.
  const named = options.signingKey;
  const signer =
    named === undefined
      ? undefined
      : await withSecrets({}, () => signingKey(named), {
          declare: [named],
          ...(options.backends ? { backends: options.backends } : {}),
        });
  // Checked before the bundle is built: a wrong address fails fast.
  const given =
    options.storage !== undefined
      ? flowModule.parseStorageAddress(
          options.storage,
          options.kinds ?? (await flowModule.storageKindsFor(options.storage)),
          "storage",
        )
      : undefined;
  const built = await bundle(path);
  const base = dirname(path);
  await refuseSecrets(built, namesToScan([]), base);
  let module: Record<string, unknown>;
  try {
    module = await flowModule.importBundle(built.bytes, { root: base });
  } catch (error) {
    // The module is imported to find its flow: a missing package or a throw at its top level stops the deploy.
    throw new DeployError(
      "IMPORT_FAILED",
      `${file} could not be loaded to find its flow: ${(error as Error)?.name ?? "Error"}: ${(error as Error)?.message ?? String(error)}`,
      { cause: error },
    );
  }
  const flow = pickFlow(flowModule.exportedFlows(module), options.flow, file);
  const storage: FlowStorage | undefined = given ?? flow.options.storage;
  if (!storage) {
    throw new DeployError(
      "NO_STORAGE",
      `flow "${flow.name}" declares no storage: give it one (storage: s3Storage({ … })) or pass --storage ADDRESS`,
    );
  }
  // The flow's own declared names may be custom ones the first scan did not know.
  await refuseSecrets(built, [...(flow.options.secrets ?? []), ...(storage.secrets ?? [])], base);
  const name = flowModule.checkDeploymentName(flow.name, "flow");
  const manifest = flowModule.createManifest({
    flow: name,
    flowSecrets: flow.options.secrets ?? [],
    storageSecrets: storage.secrets ?? [],
    bundle: built.bytes,
    tributary: await versions([...new Set(["@tributary/flow", ...built.tributary])], base),
  });
  const address = storage.address(name);
  const envelope = signer && flowModule.signDeployment(manifest, address, signer.pem);
  // The manifest last: a run that reads it finds the bundle and signature it names already there.
  await storage.save(
    name,
    [
      { name: flowModule.BUNDLE_FILE, bytes: built.bytes },
      ...(envelope
        ? [{ name: flowModule.SIGNATURE_FILE, bytes: Buffer.from(`${JSON.stringify(envelope, null, 2)}\n`) }]
        : []),
      { name: flowModule.MANIFEST_FILE, bytes: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`) },
    ],
    options.signal ? { signal: options.signal } : {},
  );
  return {
    address,
    manifest,
    ...(signer ? { signedBy: { keyId: signer.key.keyId, label: signer.key.label } } : {}),
  };
}

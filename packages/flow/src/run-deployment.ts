import {
  resolveSecret,
  type SecretBackend,
  ServiceError,
  TributaryError,
  type WithSecretsOptions,
  withSecrets,
} from "@tributary/auth";
import { type ParsedDeploymentAddress, parseDeploymentAddress } from "./deployment-address.js";
import {
  checkBundle,
  checkCompatible,
  DeploymentError,
  type DeploymentManifest,
  installedVersions,
  MANIFEST_FILE,
  parseManifest,
} from "./deployment-manifest.js";
import {
  readTrustPolicy,
  SIGNATURE_FILE,
  type TrustedKey,
  type VerifiedSignature,
  verifyDeploymentSignature,
} from "./deployment-signature.js";
import type { Flow, RunOptions } from "./flow.js";
import { exportedFlows, findPackageRoot, importBundle } from "./import-bundle.js";
import type { LoggerOptions } from "./logger.js";
import type { RunReport } from "./report.js";
import type { FlowStorage, StorageKind } from "./storage.js";
import { storageKindsFor } from "./storage-kinds.js";
import { logProvenance } from "./task.js";

/** The options of `runDeployment`. */
export interface RunDeploymentOptions {
  /** The run's parameters, handed to the flow's body as `params`. */
  params?: unknown;
  /** Secret values for this run, by name: they win over env, store and backends, for the pull and for every task. */
  secrets?: Readonly<Record<string, unknown>>;
  /** The run's id (default: a random UUID). */
  runId?: string;
  /** Aborting it stops the pull, or cancels the run once it started. */
  signal?: AbortSignal;
  /** Secret backends for the pull and the run, instead of those set by `configureBackends`. */
  backends?: readonly SecretBackend[];
  /**
   * The storage kinds addresses may name. Default: the kind the address's scheme names, imported from its package
   * (`s3://` from `@tributary/aws`, `gs://` from `@tributary/gcp`, `github://` from `@tributary/github`, `file://`
   * from this one; see `storageKindsFor`). Pass kinds for connection options (`s3StorageKind.configure(…)`), for a
   * kind of your own, for a package installed where `@tributary/flow` cannot import it, or to allow only these.
   */
  kinds?: readonly StorageKind[];
  /**
   * The folder whose `node_modules` provide `@tributary/*` and the flow's dependencies to the bundle (its nearest
   * folder with a `node_modules`). Default: the current folder.
   */
  root?: string;
  /** Logger options for the run. */
  logger?: LoggerOptions;
  /** The run's default for `leastPrivilege` when the flow does not set it (see `RunOptions.leastPrivilege`). */
  leastPrivilege?: boolean;
  /**
   * The trust policy: Ed25519 public keys (PEM, as `tributary keys generate` prints them). With it, the deployment
   * runs only if its signature (`manifest.sig.json`) verifies under one of them, signs this bundle's sha256 and this
   * address; otherwise `DeploymentError` `UNTRUSTED_DEPLOYMENT` (with its `reason`) before the bundle is imported
   * and before any flow secret is resolved. Several keys at once for rotation. Without it, nothing is verified.
   */
  trustedKeys?: readonly string[];
}

const CACHE_LIMIT = 32;
/**
 * Flows imported (or being imported) in this process, by bundle sha256 and flow name: a second run skips the
 * bundle, and concurrent first runs share one pull. A failed pull is forgotten.
 */
const imported = new Map<string, Promise<Flow>>();

/** The same flows once imported: a run of a flow already here neither waits nor listens for an abort. */
const ready = new Map<string, Flow>();

function remember(key: string, flow: Promise<Flow>): void {
  imported.delete(key);
  imported.set(key, flow);
  if (imported.size > CACHE_LIMIT) {
    const oldest = imported.keys().next().value as string;
    imported.delete(oldest);
    ready.delete(oldest);
  }
  flow.then(
    (loaded) => {
      if (imported.get(key) === flow) ready.set(key, loaded);
    },
    () => {
      if (imported.get(key) === flow) imported.delete(key);
    },
  );
}

/**
 * Parsed addresses, per list of kinds (a caller's, or the one `storageKindsFor` hands out for a scheme): a
 * long-lived agent runs the same few addresses again and again.
 */
const parsedAddresses = new WeakMap<readonly StorageKind[], Map<string, ParsedDeploymentAddress>>();

function parseCached(address: string, kinds: readonly StorageKind[]): ParsedDeploymentAddress {
  let byAddress = parsedAddresses.get(kinds);
  if (!byAddress) {
    byAddress = new Map();
    parsedAddresses.set(kinds, byAddress);
  }
  let parsed = byAddress.get(address);
  if (!parsed) {
    parsed = parseDeploymentAddress(address, kinds);
    if (byAddress.size >= CACHE_LIMIT) byAddress.delete(byAddress.keys().next().value as string);
    byAddress.set(address, parsed);
  }
  return parsed;
}

/** The last manifest read at each address, with its bytes: unchanged bytes are not parsed again. */
const manifests = new Map<string, { bytes: Uint8Array; manifest: DeploymentManifest }>();

function parseManifestCached(bytes: Uint8Array, address: string): DeploymentManifest {
  const last = manifests.get(address);
  if (last && Buffer.compare(last.bytes, bytes) === 0) return last.manifest;
  const manifest = parseManifest(bytes, address);
  if (!last && manifests.size >= CACHE_LIMIT) manifests.delete(manifests.keys().next().value as string);
  // A copy: a storage may hand out a buffer it changes later.
  manifests.set(address, { bytes: Buffer.from(bytes), manifest });
  return manifest;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason ?? new Error("aborted");
}

/** `promise`, or a rejection with the signal's reason as soon as it aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason ?? new Error("aborted"));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/** A manifest read, and with a trust policy, its verified signature. */
interface Loaded {
  manifest: DeploymentManifest;
  signature: VerifiedSignature | undefined;
}

/**
 * Resolves the storage's declared secrets (in the current scope), then reads and checks the manifest; with a trust
 * policy, reads its signature at the same time and verifies it against the manifest and the deployment's address.
 */
function loadManifest(
  address: string,
  storage: FlowStorage,
  name: string,
  signal: AbortSignal | undefined,
  trusted: readonly TrustedKey[] | undefined,
): Promise<Loaded> {
  const call = signal ? { signal } : {};
  const readSigned = async (trusted: readonly TrustedKey[]): Promise<Loaded> => {
    const [bytes, envelope] = await Promise.all([
      storage.load(name, MANIFEST_FILE, call),
      storage.load(name, SIGNATURE_FILE, call).catch((error: unknown) => {
        if (ServiceError.isInstance(error) && error.code === "NOT_FOUND") return undefined;
        throw error;
      }),
    ]);
    const manifest = checkManifest(bytes, address, name);
    // Compared as the storage writes it: `file://localhost/x` and `file:///x` are one address.
    const signature = verifyDeploymentSignature(envelope, {
      manifest,
      address: storage.address(name),
      trusted,
    });
    return { manifest, signature };
  };
  // Without a trust policy, one promise (not an async function's two): an agent reads the manifest every run.
  const read = (): Promise<Loaded> =>
    trusted
      ? readSigned(trusted)
      : storage
          .load(name, MANIFEST_FILE, call)
          .then((bytes) => ({ manifest: checkManifest(bytes, address, name), signature: undefined }));
  const secrets = storage.secrets ?? [];
  if (secrets.length === 0) return read();
  return (async () => {
    for (const secret of secrets) await resolveSecret(secret);
    return read();
  })();
}

/** The manifest in `bytes` (parsed once while they are unchanged), checked to be for flow `name`. */
function checkManifest(bytes: Uint8Array, address: string, name: string): DeploymentManifest {
  const manifest = parseManifestCached(bytes, address);
  if (manifest.flow !== name) {
    throw new DeploymentError(
      "MANIFEST_INVALID",
      address,
      `the manifest is for flow "${manifest.flow}", not "${name}"`,
    );
  }
  return manifest;
}

/** The options of `readDeploymentManifest`: those of `runDeployment` that reach the storage, and the trust policy. */
export type ReadManifestOptions = Pick<
  RunDeploymentOptions,
  "secrets" | "signal" | "backends" | "kinds" | "trustedKeys"
>;

/**
 * Reads a deployment's manifest as a run would (the storage's secrets resolved first, the same typed errors),
 * without pulling the bundle: what `tributary run --queue` uses to put the run's secret names on the job. With
 * `trustedKeys`, the manifest is returned only when its signature verifies (see `runDeployment`).
 * @example
 * const manifest = await readDeploymentManifest("s3://flows/prod/nightly");
 * console.log([...manifest.secrets.flow, ...manifest.secrets.storage]);
 */
export async function readDeploymentManifest(
  address: string,
  options: ReadManifestOptions = {},
): Promise<DeploymentManifest> {
  const { storage, name } = parseCached(address, options.kinds ?? (await storageKindsFor(address)));
  const trusted = trustPolicy(options.trustedKeys);
  throwIfAborted(options.signal);
  const loaded = await withSecrets(
    options.secrets ?? {},
    () => loadManifest(address, storage, name, options.signal, trusted),
    {
      declare: storage.secrets ?? [],
      ...(options.backends ? { backends: options.backends } : {}),
    },
  );
  return loaded.manifest;
}

/** What `verifyDeployment` found: the signature that verified, the manifest and the deployment's address. */
export interface VerifiedDeployment extends VerifiedSignature {
  /** The bundle's sha256, checked against the bytes in storage. */
  readonly sha256: string;
}

/**
 * Verifies a deployment without running it, as `tributary verify` does: reads its manifest and signature with the
 * storage's secrets, verifies the signature under `trustedKeys` (required), then pulls the bundle and checks it is
 * the one signed. Resolves to who signed it (key id and label), when and for which address; otherwise rejects
 * with `DeploymentError` `UNTRUSTED_DEPLOYMENT` and the reason. Nothing is imported.
 * @example
 * const signed = await verifyDeployment("s3://flows/prod/nightly", { trustedKeys: [releasePem], kinds: [s3StorageKind] });
 * console.log(signed.keyId, signed.label, signed.signedAt);
 */
export async function verifyDeployment(
  address: string,
  options: ReadManifestOptions & { trustedKeys: readonly string[] },
): Promise<VerifiedDeployment> {
  const { storage, name } = parseCached(address, options.kinds ?? (await storageKindsFor(address)));
  const trusted = readTrustPolicy(options.trustedKeys);
  throwIfAborted(options.signal);
  const signal = options.signal;
  return withSecrets(
    options.secrets ?? {},
    async () => {
      const { manifest, signature } = await loadManifest(address, storage, name, signal, trusted);
      const bytes = await storage.load(name, manifest.bundle.file, signal ? { signal } : {});
      checkBundle(bytes, manifest, address, true);
      return { ...(signature as VerifiedSignature), sha256: manifest.bundle.sha256 };
    },
    {
      declare: storage.secrets ?? [],
      ...(options.backends ? { backends: options.backends } : {}),
    },
  );
}

/** The trust policy of `trustedKeys`, read before any network call (a key that is not one is a `ValidationError`). */
function trustPolicy(keys: readonly string[] | undefined): readonly TrustedKey[] | undefined {
  return keys === undefined ? undefined : readTrustPolicy(keys);
}

/**
 * Runs a deployment: resolves the secrets its storage declares (run values, env, store, backends: a name found
 * nowhere fails here, before anything is fetched), pulls the manifest and then the bundle with them, checks the
 * bundle's sha256 and the `@tributary/*` versions before importing anything, imports it and runs the flow with
 * the same secrets in scope. With `trustedKeys`, the deployment's signature is verified with the manifest, before
 * the bundle is pulled. Resolves to the run's report; a pull that fails rejects with a typed error
 * naming the address (`DeploymentError`, `CredentialRejectedError`, `MissingCredentialsError`, `ValidationError`),
 * and nothing of the flow ran. A second run of the same bundle in this process reads only the manifest. The
 * storage kind comes from the address's scheme (`s3://` needs `@tributary/aws` installed) unless `kinds` is given.
 * @example
 * const report = await runDeployment("s3://flows/prod/nightly", { params: { day: "2026-11-25" } });
 */
export function runDeployment(address: string, options: RunDeploymentOptions = {}): Promise<RunReport> {
  // Not async: an agent runs this for every queued run, and each promise layer costs it.
  try {
    if (options.kinds) return startDeployment(address, options, options.kinds);
    return storageKindsFor(address).then((kinds) => startDeployment(address, options, kinds));
  } catch (error) {
    return Promise.reject(error);
  }
}

function startDeployment(
  address: string,
  options: RunDeploymentOptions,
  kinds: readonly StorageKind[],
): Promise<RunReport> {
  const { storage, name } = parseCached(address, kinds);
  const trusted = trustPolicy(options.trustedKeys);
  const declared = storage.secrets ?? [];
  const signal = options.signal;
  throwIfAborted(signal);
  const root = options.root ?? process.cwd();
  // Provenance is logged for the pull's credentials too, and with the same listener as the run's: a flow that
  // declares nothing more runs in this scope, without another.
  const scope: WithSecretsOptions = { declare: declared, onResolve: logProvenance };
  if (options.backends) scope.backends = options.backends;
  if (options.runId !== undefined) scope.runId = options.runId;
  const runFlow = (flow: Flow): Promise<RunReport> => {
    throwIfAborted(signal);
    // Set one by one (not spread): this runs for every queued run of an agent.
    const run: RunOptions = { params: options.params };
    if (options.runId !== undefined) run.runId = options.runId;
    if (signal) run.signal = signal;
    if (options.backends) run.backends = options.backends;
    if (options.logger) run.logger = options.logger;
    if (options.leastPrivilege !== undefined) run.leastPrivilege = options.leastPrivilege;
    return flow.run(run);
  };
  return withSecrets(
    options.secrets ?? {},
    () =>
      loadManifest(address, storage, name, signal, trusted).then(({ manifest, signature }) => {
        const key = `${manifest.bundle.sha256}:${name}`;
        const flow = ready.get(key);
        if (flow) return runFlow(flow);
        let pulling = imported.get(key);
        if (!pulling) {
          // Shared by concurrent runs: one caller's abort stops its own wait, not the pull the others wait for.
          pulling = pull(address, name, manifest, root, storage.load.bind(storage), signature !== undefined);
          remember(key, pulling);
        }
        return untilAborted(pulling, signal).then(runFlow);
      }),
    scope,
  );
}

async function pull(
  address: string,
  name: string,
  manifest: DeploymentManifest,
  root: string,
  load: (name: string, file: string) => Promise<Uint8Array>,
  signed: boolean,
): Promise<Flow> {
  const packageRoot = findPackageRoot(root) ?? root;
  checkCompatible(manifest, installedVersions(Object.keys(manifest.tributary), packageRoot), address);
  const bytes = await load(name, manifest.bundle.file);
  checkBundle(bytes, manifest, address, signed);
  let module: Record<string, unknown>;
  try {
    module = await importBundle(bytes, { root: packageRoot });
  } catch (error) {
    if (TributaryError.isInstance(error)) throw error;
    const code = (error as { code?: unknown })?.code;
    const missing = /Cannot find (?:package|module) '([^']+)'/.exec(String((error as Error)?.message));
    if (code === "ERR_MODULE_NOT_FOUND" && missing) {
      throw new DeploymentError(
        "DEPENDENCY_MISSING",
        address,
        `the flow imports ${missing[1]}, which is not installed where it runs (${packageRoot}): install it there`,
      );
    }
    throw new DeploymentError(
      "IMPORT_FAILED",
      address,
      `importing the flow's module failed: ${(error as Error)?.name ?? "Error"}: ${(error as Error)?.message ?? String(error)}`,
      { cause: error },
    );
  }
  const flows = exportedFlows(module);
  const flow = flows.find((f) => f.name === name);
  if (!flow) {
    const found = flows.map((f) => `"${f.name}"`).join(", ") || "none";
    throw new DeploymentError(
      "FLOW_NOT_FOUND",
      address,
      `the module exports no flow named "${name}" (flows found: ${found})`,
    );
  }
  return flow;
}

import { ValidationError } from "@tributary/auth";
import {
  checkDeploymentFile,
  checkDeploymentName,
  checkStorageSecrets,
  type DeploymentFile,
  type FlowStorage,
  normalizePrefix,
  type StorageCallOptions,
  type StorageKind,
} from "./storage.js";

/**
 * What an object store supplies to `objectStorage`: its address scheme, a checked bucket, and how to open a
 * connection and put or get one object through it. Errors are mapped to the service's own by `put` and `get`.
 */
export interface ObjectStorageSpec<C> {
  /** The address scheme, without `://`, such as `"s3"` or `"gs"`; also the storage's `kind`. */
  scheme: string;
  /** The bucket, already checked by the service's own rules. */
  bucket: string;
  /** The raw `prefix` option; checked with `normalizePrefix`. */
  prefix?: unknown;
  /** The raw `secrets` option; checked with `checkStorageSecrets`. */
  secrets?: unknown;
  /** The secret names declared when `secrets` is not given. */
  defaultSecrets: readonly string[];
  /** Opens a connection (a client and its credential), once per `save()` or `load()`, after the names are checked. */
  connect(): Promise<C>;
  /** Writes one object. */
  put(
    connection: C,
    key: string,
    bytes: Uint8Array,
    contentType: string,
    call: StorageCallOptions,
  ): Promise<void>;
  /** Reads one object. */
  get(connection: C, key: string, call: StorageCallOptions): Promise<Uint8Array>;
}

/**
 * A bucket as flow storage, the skeleton of `s3Storage` and `gcsStorage`: the deployment `nightly` is the objects
 * `<prefix>nightly/manifest.json` and `<prefix>nightly/flow.mjs`, at the address `<scheme>://<bucket>/<prefix>nightly`.
 */
export function objectStorage<C>(spec: ObjectStorageSpec<C>): FlowStorage {
  const { scheme, bucket } = spec;
  const prefix = normalizePrefix(spec.prefix);
  const secrets = checkStorageSecrets(spec.secrets, spec.defaultSecrets);
  const key = (name: string, file: string) =>
    `${prefix}${checkDeploymentName(name)}/${checkDeploymentFile(file)}`;
  return Object.freeze({
    kind: scheme,
    secrets,
    describe: () => `${scheme}://${bucket}/${prefix}`,
    address: (name: string) => `${scheme}://${bucket}/${prefix}${checkDeploymentName(name)}`,
    async save(name: string, files: readonly DeploymentFile[], call: StorageCallOptions = {}): Promise<void> {
      const keys = files.map((f) => key(name, f.name));
      const connection = await spec.connect();
      for (const [i, file] of files.entries()) {
        const contentType = file.name.endsWith(".json") ? "application/json" : "text/javascript";
        await spec.put(connection, keys[i] as string, file.bytes, contentType, call);
      }
    },
    async load(name: string, file: string, call: StorageCallOptions = {}): Promise<Uint8Array> {
      const k = key(name, file);
      return spec.get(await spec.connect(), k, call);
    },
  });
}

/** A bucket storage kind, with connection options applied to every storage it builds. */
export interface ObjectStorageKind<O> extends StorageKind {
  /** A kind whose storages use these connection options merged over the current ones. */
  configure(options: O): ObjectStorageKind<O>;
}

/** What `objectStorageKind` needs: the scheme, the default secrets, and how to build a storage for a bucket. */
export interface ObjectStorageKindSpec<O> {
  /** The address scheme, without `://`. */
  scheme: string;
  /** The message when an address has no bucket, such as `an s3:// address starts with the bucket: …`. */
  noBucket: string;
  /** The secret names a storage with these connection options declares by default. */
  defaultSecrets(connection: O): readonly string[];
  /** Checks the bucket read from an address (throws `ValidationError` on the option `address`). */
  checkBucket(bucket: string, option: string): string;
  /** Builds the storage for a bucket and prefix with these connection options. */
  storage(connection: O, bucket: string, prefix: string): FlowStorage;
}

/**
 * The kind of a bucket storage: `<scheme>://bucket/prefix/NAME` is the deployment `NAME` in the storage built by
 * `spec.storage` for `bucket` and `prefix/`; `configure` merges connection options.
 */
export function objectStorageKind<O extends object>(
  spec: ObjectStorageKindSpec<O>,
  connection: O = {} as O,
): ObjectStorageKind<O> {
  return Object.freeze({
    scheme: spec.scheme,
    secrets: spec.defaultSecrets(connection),
    fromLocation(location: string): FlowStorage {
      const [bucket = "", ...rest] = location.split("/");
      if (bucket === "") throw new ValidationError("address", spec.noBucket);
      return spec.storage(connection, spec.checkBucket(bucket, "address"), rest.join("/"));
    },
    configure: (options: O) => objectStorageKind(spec, { ...connection, ...options }),
  });
}

import type { StorageKind } from "@tributary/flow";

/**
 * Every storage kind the CLI knows, by scheme. Each is imported only when an address names it, so that
 * `tributary --help` does not load the cloud SDKs. A fifth kind is one more line here.
 */
const LOADERS: Readonly<Record<string, () => Promise<StorageKind>>> = {
  file: async () => (await import("@tributary/flow")).fileStorageKind,
  s3: async () => (await import("@tributary/aws")).s3StorageKind,
  gs: async () => (await import("@tributary/gcp")).gcsStorageKind,
  github: async () => (await import("@tributary/github")).githubStorageKind,
};

/** The schemes of every kind the CLI knows: `file`, `s3`, `gs`, `github`. */
export const STORAGE_SCHEMES: readonly string[] = Object.freeze(Object.keys(LOADERS));

/** Loads every storage kind. */
export async function allStorageKinds(): Promise<StorageKind[]> {
  return Promise.all(Object.values(LOADERS).map((load) => load()));
}

/**
 * The kinds needed to parse `address`: the one its scheme names, or all of them when it names none (so the
 * parser's error lists the known schemes).
 */
export async function storageKindsFor(address: string): Promise<StorageKind[]> {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(address)?.[1]?.toLowerCase();
  const load = scheme !== undefined && Object.hasOwn(LOADERS, scheme) ? LOADERS[scheme] : undefined;
  return load ? [await load()] : allStorageKinds();
}

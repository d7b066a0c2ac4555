import { DeploymentError } from "./deployment-manifest.js";
import { fileStorageKind } from "./file-storage.js";
import type { StorageKind } from "./storage.js";

/** The kinds that live in an integration, by scheme: the package that holds each and the name it exports. */
const PACKAGED: Readonly<Record<string, { readonly from: string; readonly name: string }>> = Object.freeze({
  s3: { from: "@tributary/aws", name: "s3StorageKind" },
  gs: { from: "@tributary/gcp", name: "gcsStorageKind" },
  github: { from: "@tributary/github", name: "githubStorageKind" },
});

/** The schemes of the kinds found by name: `file`, `s3`, `gs`, `github`. */
export const STORAGE_SCHEMES: readonly string[] = Object.freeze(["file", ...Object.keys(PACKAGED)]);

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/** The lists handed out, by scheme (`*`: every kind): always the same array, so parsed addresses stay cached. */
const lists = new Map<string, Promise<readonly StorageKind[]>>();

/**
 * The kinds `runDeployment` and `readDeploymentManifest` use when not given `kinds`: the one the address's scheme
 * names, imported from its package the first time (`s3://` from `@tributary/aws`, `gs://` from `@tributary/gcp`,
 * `github://` from `@tributary/github`; `file://` is this package's), or every known kind when the address names
 * none of them, so that the parser's error lists them. The package is imported by name from where
 * `@tributary/flow` is installed; when it is not there, the kind refuses its addresses with a `DeploymentError`
 * (`DEPENDENCY_MISSING`) naming the package to install and the export to pass as `kinds`.
 * @example
 * const { storage, name } = parseDeploymentAddress(address, await storageKindsFor(address));
 */
export function storageKindsFor(address: string): Promise<readonly StorageKind[]> {
  const scheme = typeof address === "string" ? SCHEME.exec(address)?.[1]?.toLowerCase() : undefined;
  const key = scheme !== undefined && STORAGE_SCHEMES.includes(scheme) ? scheme : "*";
  let list = lists.get(key);
  if (!list) {
    const loading =
      key === "*" ? Promise.all(STORAGE_SCHEMES.map(importKind)) : importKind(key).then((kind) => [kind]);
    const frozen = loading.then((kinds): readonly StorageKind[] => Object.freeze(kinds));
    list = frozen;
    lists.set(key, frozen);
    // A failed import is tried again by the next call.
    frozen.catch(() => {
      if (lists.get(key) === frozen) lists.delete(key);
    });
  }
  return list;
}

/**
 * Every known kind (`file`, `s3`, `gs`, `github`), each imported from its package: what an agent loads at start.
 * A kind whose package is not installed refuses its addresses, naming the package (see `storageKindsFor`).
 * @example
 * const kinds = await allStorageKinds();
 */
export function allStorageKinds(): Promise<readonly StorageKind[]> {
  return storageKindsFor("");
}

async function importKind(scheme: string): Promise<StorageKind> {
  const packaged = PACKAGED[scheme];
  if (!packaged) return fileStorageKind;
  const { from, name } = packaged;
  let module: Record<string, unknown>;
  try {
    // By name, at run time: the integrations depend on this package, never the other way round.
    module = (await import(from)) as Record<string, unknown>;
  } catch (error) {
    const missing = /Cannot find (?:package|module) '([^']+)'/.exec(String((error as Error)?.message));
    if (missing?.[1] === from) return notInstalled(scheme, from, name);
    throw error;
  }
  const kind = module[name] as StorageKind | undefined;
  if (kind?.scheme !== scheme || typeof kind.fromLocation !== "function") {
    return notInstalled(
      scheme,
      from,
      name,
      `${from} exports no ${name}: install the same version as @tributary/flow`,
    );
  }
  return kind;
}

/** A kind whose package cannot be imported: it refuses every address of its scheme, once the address is checked. */
function notInstalled(scheme: string, from: string, name: string, why?: string): StorageKind {
  const refuse = (location: string): never => {
    throw new DeploymentError(
      "DEPENDENCY_MISSING",
      `${scheme}://${location}`,
      `${why ?? `${scheme}:// addresses need ${name} from ${from}, which cannot be imported from where @tributary/flow is installed: install ${from} beside it (npm install ${from})`}, or import { ${name} } from "${from}" yourself and pass it: runDeployment(address, { kinds: [${name}] })`,
    );
  };
  return Object.freeze({ scheme, secrets: Object.freeze([]), fromLocation: refuse, splitLocation: refuse });
}

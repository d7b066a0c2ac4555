import { readFileSync, type Stats, statSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { isAbsolute, join, resolve, sep } from "node:path";
import { Readable } from "node:stream";
import { pathToFileURL } from "node:url";
import { ServiceError, ValidationError } from "@tributary/auth";
import { writeFileAtomic } from "@tributary/integration-kit";
import {
  checkDeploymentFile,
  checkDeploymentName,
  checkStorageSecrets,
  type DeploymentFile,
  type FlowStorage,
  type StorageKind,
} from "./storage.js";

/** Files up to this size are kept after a read, to be returned again while the file has not changed. */
const CACHED_FILE_BYTES = 256 * 1024;
const CACHED_FILES = 32;
/** A file written less than this long before it was read may still change unseen within its timestamp's tick. */
const SETTLED_MS = 1000;
const cache = new Map<string, { stat: Stats; bytes: Buffer }>();

const sameFile = (a: Stats, b: Stats) =>
  a.ino === b.ino &&
  a.dev === b.dev &&
  a.size === b.size &&
  a.mtimeMs === b.mtimeMs &&
  a.ctimeMs === b.ctimeMs;

/**
 * A file's bytes: read once, then returned again (as a copy) while a `stat` shows the same file — the same inode
 * (a deploy renames a new file into place), size, modification and change times. A file changed less than a
 * second before it was read is read again next time, so a change within its timestamp's tick is not missed.
 */
function readCached(path: string): Buffer {
  const stat = statSync(path);
  const hit = cache.get(path);
  if (hit && sameFile(hit.stat, stat)) return Buffer.from(hit.bytes);
  const bytes = readFileSync(path);
  cache.delete(path);
  const settled = Date.now() - stat.ctimeMs > SETTLED_MS;
  if (settled && bytes.length <= CACHED_FILE_BYTES && bytes.length === stat.size) {
    if (cache.size >= CACHED_FILES) cache.delete(cache.keys().next().value as string);
    cache.set(path, { stat, bytes: Buffer.from(bytes) });
  }
  return bytes;
}

/** The options of `fileStorage`. */
export interface FileStorageOptions {
  /** The folder deployments are written to, one sub-folder per flow. Relative paths are taken from the current folder. */
  path: string;
  /** Secret names to declare for every run of the flow (a folder needs none). */
  secrets?: readonly string[];
}

/**
 * A folder as flow storage, for one machine and for tests: each deployment is `<path>/<flow>/`, written
 * atomically (temporary file, then rename). Its address is `file:///abs/path/<flow>`.
 * @example
 * const nightly = flow({ name: "nightly", storage: fileStorage({ path: "/srv/flows" }) }, body);
 * // tributary deploy flows/nightly.ts → file:///srv/flows/nightly
 */
export function fileStorage(options: FileStorageOptions): FlowStorage {
  if (!options || typeof options.path !== "string" || options.path === "") {
    throw new ValidationError(
      "path",
      "fileStorage needs the folder to keep deployments in: fileStorage({ path })",
    );
  }
  if (options.path.includes("\u0000")) throw new ValidationError("path", "must not contain a NUL character");
  const root = resolve(options.path);
  const secrets = checkStorageSecrets(options.secrets, []);
  const base = pathToFileURL(root).href.replace(/\/+$/, "");
  // Names and file names are single plain segments (checked), so joining is concatenation.
  const prefix = root.endsWith(sep) ? root : `${root}${sep}`;
  const folder = (name: string) => `${prefix}${checkDeploymentName(name)}`;
  return Object.freeze({
    kind: "file",
    secrets,
    describe: () => `${base}/`,
    address: (name: string) => `${base}/${checkDeploymentName(name)}`,
    async save(name: string, files: readonly DeploymentFile[]): Promise<void> {
      const dir = folder(name);
      await mkdir(dir, { recursive: true });
      for (const file of files) {
        await writeFileAtomic(join(dir, checkDeploymentFile(file.name)), Readable.from([file.bytes]));
      }
    },
    async load(name: string, file: string): Promise<Uint8Array> {
      const path = `${folder(name)}${sep}${checkDeploymentFile(file)}`;
      try {
        return readCached(path);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOENT") {
          throw new ServiceError("NOT_FOUND", "file storage", `${path}: not found`, 404);
        }
        throw new ServiceError("READ_FAILED", "file storage", `${path}: ${code ?? "cannot be read"}`);
      }
    },
  });
}

/** The `file://` kind: `file:///srv/flows/nightly` is the deployment `nightly` in `fileStorage({ path: "/srv/flows" })`. */
export const fileStorageKind: StorageKind = Object.freeze({
  scheme: "file",
  secrets: Object.freeze([]) as readonly string[],
  fromLocation(location: string): FlowStorage {
    // file:///srv/flows → "/srv/flows"; file://localhost/srv/flows is the same place.
    const path = location.startsWith("localhost/") ? location.slice("localhost".length) : location;
    if (!isAbsolute(path) || !path.startsWith("/")) {
      throw new ValidationError(
        "address",
        "a file:// address holds an absolute path: file:///srv/flows/nightly",
      );
    }
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      throw new ValidationError("address", "the path of a file:// address is not valid percent-encoding");
    }
    return fileStorage({ path: decoded });
  },
});

import { ValidationError } from "@tributary/auth";
import { checkDeploymentName, type FlowStorage, type StorageKind } from "./storage.js";

/** What `parseDeploymentAddress` returns. */
export interface ParsedDeploymentAddress {
  /** The address as given. */
  readonly address: string;
  /** The kind its scheme names. */
  readonly kind: StorageKind;
  /** The storage holding the deployment, declaring the kind's secret names. */
  readonly storage: FlowStorage;
  /** The deployment's name: the flow's name. */
  readonly name: string;
}

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/is;

/** Splits `scheme://location` and refuses what must never be in an address, naming the rule, never the address. */
function splitAddress(address: unknown, option: string, kinds: readonly StorageKind[]) {
  if (typeof address !== "string" || address.trim() === "") {
    throw new ValidationError(
      option,
      "give an address such as s3://bucket/prefix/name or file:///srv/flows/name",
    );
  }
  const known = kinds.map((k) => `${k.scheme}://`).join(", ");
  const m = SCHEME.exec(address);
  if (!m) throw new ValidationError(option, `an address starts with a scheme: ${known}`);
  const scheme = (m[1] as string).toLowerCase();
  const location = m[2] as string;
  // A credential may sit in user info (https://user:token@host), a query (?X-Amz-Signature=, ?token=) or a
  // fragment: none is ever part of a deployment address, so the address is refused without being repeated.
  const authority = location.split("/", 1)[0] ?? "";
  if (/[@:]/.test(authority)) {
    throw new ValidationError(
      option,
      "the address holds user info (user:password@): credentials never go in an address; declare them as secrets of the storage",
    );
  }
  if (location.includes("?") || location.includes("#")) {
    throw new ValidationError(
      option,
      "the address holds a query or fragment (such as a signed URL's X-Amz-Signature): credentials never go in an address; declare them as secrets of the storage",
    );
  }
  if (/[\s\u0000-\u001f\u007f]/.test(location)) {
    throw new ValidationError(option, "an address holds no spaces or control characters");
  }
  const kind = kinds.find((k) => k.scheme === scheme);
  if (!kind) {
    const shown = /^[a-z][a-z0-9+.-]{0,15}$/.test(scheme) ? `"${scheme}://"` : "this scheme";
    throw new ValidationError(option, `unknown storage kind ${shown}; known: ${known}`);
  }
  return { kind, location };
}

/**
 * Parses the address of a storage (`s3://flows/prod/`, `gs://bucket/`, `github://owner/repo/flows@main`,
 * `file:///srv/flows`) with the given kinds, before any network call: an unknown scheme, a missing bucket or
 * path, credentials in the address are each a `ValidationError`.
 * @example
 * const storage = parseStorageAddress("file:///srv/flows", [fileStorageKind]);
 */
export function parseStorageAddress(
  address: string,
  kinds: readonly StorageKind[],
  option = "storage",
): FlowStorage {
  const { kind, location } = splitAddress(address, option, kinds);
  return kind.fromLocation(location);
}

/**
 * Parses a deployment's address (`s3://flows/prod/nightly`, `github://owner/repo/flows/nightly@main`) into
 * its kind, its storage and its name, before any network call. The one parser of addresses: `tributary run`,
 * `runDeployment` and the agent all use it.
 * @example
 * const { storage, name } = parseDeploymentAddress("file:///srv/flows/nightly", [fileStorageKind]);
 */
export function parseDeploymentAddress(
  address: string,
  kinds: readonly StorageKind[],
  option = "address",
): ParsedDeploymentAddress {
  const { kind, location } = splitAddress(address, option, kinds);
  const split = kind.splitLocation ? kind.splitLocation(location) : splitAtLastSlash(location);
  const name = checkDeploymentName(split.name, option);
  return { address, kind, storage: kind.fromLocation(split.storage), name };
}

function splitAtLastSlash(location: string): { storage: string; name: string } {
  const trimmed = location.replace(/\/+$/, "");
  const at = trimmed.lastIndexOf("/");
  return { storage: trimmed.slice(0, at + 1), name: trimmed.slice(at + 1) };
}

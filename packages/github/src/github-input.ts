import { ValidationError } from "@tributary/auth";

const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const NAME = /^[A-Za-z0-9._-]{1,100}$/;

/** @internal Splits `owner/name`, or throws `ValidationError` before any request. */
export function parseRepo(repo: unknown): { owner: string; repo: string; fullName: string } {
  if (typeof repo !== "string") {
    throw new ValidationError("repo", 'give the repository as "owner/name" (such as "octocat/hello-world")');
  }
  const parts = repo.split("/");
  const [owner = "", name = ""] = parts;
  if (parts.length !== 2 || !OWNER.test(owner) || !NAME.test(name) || name === "." || name === "..") {
    throw new ValidationError(
      "repo",
      `"${repo}" is not "owner/name" (such as "octocat/hello-world"; owners are letters, digits and dashes, names also . and _)`,
    );
  }
  return { owner, repo: name, fullName: `${owner}/${name}` };
}

/** @internal A non-empty line of text (a title), or `ValidationError`. */
export function checkText(option: string, value: unknown, max?: number): string {
  if (typeof value !== "string" || value.trim() === "")
    throw new ValidationError(option, "must not be empty");
  if (max !== undefined && value.length > max) {
    throw new ValidationError(option, `is ${value.length} characters long; GitHub takes at most ${max}`);
  }
  return value;
}

/** @internal An optional string option. */
export function checkOptionalString(option: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new ValidationError(option, "must be a string");
  return value;
}

/** @internal An optional list of non-empty strings (labels, assignees). */
export function checkStringList(option: string, value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string" || v.trim() === "")) {
    throw new ValidationError(option, "must be a list of non-empty strings");
  }
  return value as string[];
}

/**
 * @internal A branch name git accepts (`git check-ref-format --branch`): no spaces, `~^:?*[\`, `..`, `@{`,
 * control characters, leading `-` or `/`, empty or dot-led segments, or a trailing `.`, `/` or `.lock`.
 */
export function checkBranch(option: string, value: unknown): string {
  if (typeof value !== "string" || value === "") throw new ValidationError(option, "must be a branch name");
  const name = value.startsWith("refs/heads/") ? value.slice("refs/heads/".length) : value;
  const bad =
    name === "" ||
    name === "@" ||
    name === "HEAD" ||
    name.startsWith("-") ||
    name.startsWith("/") ||
    name.endsWith("/") ||
    name.endsWith(".") ||
    name.endsWith(".lock") ||
    name.includes("..") ||
    name.includes("//") ||
    name.includes("@{") ||
    /[\x00-\x20\x7f~^:?*[\\]/.test(name) ||
    name.split("/").some((segment) => segment.startsWith(".") || segment.endsWith(".lock"));
  if (bad) {
    throw new ValidationError(
      option,
      `"${value}" is not a valid branch name (no spaces, ~ ^ : ? * [ \\, "..", "@{", leading "-" or "/", or trailing "/", "." or ".lock")`,
    );
  }
  return name;
}

/** @internal A path inside a repository: relative, no empty, `.` or `..` segments. */
export function checkPath(value: unknown): string {
  if (typeof value !== "string" || value === "") throw new ValidationError("path", "must be a file path");
  if (
    value.startsWith("/") ||
    value.endsWith("/") ||
    value.split("/").some((s) => s === "" || s === "." || s === "..")
  ) {
    throw new ValidationError(
      "path",
      `"${value}" is not a file path inside the repository (such as "docs/README.md": no leading or trailing "/", no "." or ".." segments)`,
    );
  }
  return value;
}

/** @internal A positive whole number (an issue number). */
export function checkNumber(option: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new ValidationError(option, "must be a positive whole number");
  }
  return value;
}

/** @internal A full 40-character commit or blob sha. */
export function checkSha(option: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !/^[0-9a-f]{40}$/i.test(value)) {
    throw new ValidationError(option, "must be a 40-character hexadecimal sha");
  }
  return value;
}

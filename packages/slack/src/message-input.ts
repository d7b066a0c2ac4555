import type { Block, KnownBlock } from "@slack/web-api";
import { ValidationError } from "@tributary/auth";

/** A Block Kit block. */
export type SlackBlock = KnownBlock | Block;

/** @internal Checks `text` and `blocks` before any network call: one of them, well-formed. */
export function checkMessage(text: unknown, blocks: unknown): void {
  if (text !== undefined && typeof text !== "string") throw new ValidationError("text", "must be a string");
  if (blocks !== undefined) {
    if (!Array.isArray(blocks)) throw new ValidationError("blocks", "must be an array of Block Kit blocks");
    if (blocks.length > 50)
      throw new ValidationError("blocks", "Slack accepts at most 50 blocks in a message");
    const bad = blocks.findIndex(
      (b) => b === null || typeof b !== "object" || typeof (b as { type?: unknown }).type !== "string",
    );
    if (bad !== -1)
      throw new ValidationError("blocks", `block ${bad} must be an object with a string \`type\``);
  }
  if ((text === undefined || text === "") && (blocks === undefined || (blocks as unknown[]).length === 0)) {
    throw new ValidationError("text", "give `text` or `blocks` (a message needs one of them)");
  }
}

/** @internal Checks an optional string option. */
export function checkOptionalString(option: string, value: unknown): void {
  if (value !== undefined && (typeof value !== "string" || value === "")) {
    throw new ValidationError(option, "must be a non-empty string");
  }
}

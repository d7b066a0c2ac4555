import { randomBytes } from "node:crypto";

/**
 * Makes a Slack-shaped bot token for a test run: `xoxb-<label>-<random hex>`. It is built at run time, so no
 * token-shaped string sits in the source tree.
 * @example
 * const token = fakeSlackToken("upload");
 * const slack = await startSlackStandIn({ tokens: [token] });
 */
export function fakeSlackToken(label = "test"): string {
  return `xoxb-${label}-${randomBytes(8).toString("hex")}`;
}

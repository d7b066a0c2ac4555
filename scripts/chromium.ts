// The browser of the docs check (scripts/docs-browser.ts) and of the dashboard's tests (packages/cli/src/ui.test.ts):
// Debian's Chromium (`apt-get install chromium`), or the one named by $CHROMIUM, driven by playwright-core.
import { type Browser, chromium } from "playwright-core";

/** Where Chromium is: $CHROMIUM, else Debian's. */
export const CHROMIUM_PATH = process.env.CHROMIUM || "/usr/bin/chromium";

/**
 * Chromium started headless, with the fresh, empty profile Playwright gives it, and flags that keep it off the
 * network (no updates, sync or background fetches): the pages it loads are the only requests it makes.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

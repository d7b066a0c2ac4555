import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { removeTempHomes, runBin, tempHome } from "../test/helpers.js";

afterAll(() => removeTempHomes());

describe("large secret values", () => {
  it("a 40 KB value is stored, and list and doctor still work beside another secret", async () => {
    const home = tempHome();
    const big = "ab".repeat(20_000);
    expect((await runBin(["secrets", "set", "BIG_CUSTOM"], { home, input: big })).code).toBe(0);
    const token = `xoxb-large-${"7".repeat(24)}`;
    expect((await runBin(["secrets", "set", "SLACK_BOT_TOKEN"], { home, input: token })).code).toBe(0);
    for (const args of [["secrets", "list"], ["doctor"]]) {
      const result = await runBin(args, { home });
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("BIG_CUSTOM");
      expect(`${result.stdout}${result.stderr}`).not.toContain(token);
      expect(`${result.stdout}${result.stderr}`).not.toContain(big.slice(0, 64));
    }
  });

  it("a value over 64 KiB is refused with InvalidSecretError, and nothing is stored", async () => {
    const home = tempHome();
    const result = await runBin(["secrets", "set", "TOO_BIG"], { home, input: "z".repeat(70_000) });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("Secret TOO_BIG");
    expect(result.stderr).toContain("more than the 65536 bytes (64 KiB)");
    expect(result.stderr).not.toContain("zzzz");
    const path = join(home, "secrets.json");
    expect(existsSync(path) ? readFileSync(path, "utf8") : "").not.toContain("TOO_BIG");
  });
});

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { secretsTableMarkdown } from "./secrets-table.js";

describe("the docs table of default secret names", () => {
  it("is the registry's own output (run `pnpm docs:secrets` after changing the registry)", () => {
    const page = readFileSync(new URL("../../../docs/default-secret-names.md", import.meta.url), "utf8");
    const start = page.indexOf("<!-- secrets-table:start -->");
    const end = page.indexOf("<!-- secrets-table:end -->");
    expect(start).toBeGreaterThan(-1);
    expect(page.slice(start + "<!-- secrets-table:start -->".length, end).trim()).toBe(
      secretsTableMarkdown(),
    );
  });
});

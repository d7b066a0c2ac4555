import { checkConventions } from "@tributary/testing";
import { expect, it } from "vitest";

it("the exported tasks follow docs/conventions.md", async () => {
  expect(
    await checkConventions({ entry: new URL("./index.ts", import.meta.url), prefixes: ["slack"] }),
  ).toEqual([]);
}, 60_000);

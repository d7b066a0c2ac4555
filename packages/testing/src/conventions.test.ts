import { expect, it } from "vitest";
import { checkConventions } from "./conventions.js";

it("lists every departure of a drifting integration", async () => {
  const entry = new URL("../test/fixtures/drifting-integration.ts", import.meta.url);
  const problems = await checkConventions({ entry, prefixes: ["blob"] });
  expect(problems).toEqual(
    expect.arrayContaining([
      "does not export CredentialRejectedError: users must be able to catch what it throws",
      "blobUpload: an upload's bytes or text are `body` (and a path is `file`), not `content`",
      "blobUpload: the object's key is `key`, not `name`",
      "blobUpload: missing option `key`",
      expect.stringMatching(/^blobUpload: result .* lacks `size`$/),
      "blobList: option `maxResults` is spelt `limit` in docs/conventions.md",
      expect.stringMatching(/^blobList: result .* lacks `truncated`$/),
      "blobDownload: a download result has `path` (a file) or `body`",
      "copyBlob: a task is named <service><Action> with one of blob",
      "blobClient: a client factory takes `endpoint`",
    ]),
  );
  expect(problems).not.toContain("does not export ServiceError: users must be able to catch what it throws");
}, 60_000);

import { checkConventions } from "@tributary/testing";
import { expect, it } from "vitest";
import { useGoogle } from "../test/helpers.js";
import { gcsExists, gcsUpload } from "./index.js";

it("the exported tasks follow docs/conventions.md", async () => {
  expect(
    await checkConventions({ entry: new URL("./index.ts", import.meta.url), prefixes: ["gcs", "bigquery"] }),
  ).toEqual([]);
}, 60_000);

const env = useGoogle();

it("takes the endpoint from STORAGE_EMULATOR_HOST (a bare host:port, as the emulators print it)", async () => {
  const google = env.google();
  process.env.STORAGE_EMULATOR_HOST = google.url.replace(/^http:\/\//, "");
  try {
    const credentials = env.key();
    const info = await gcsUpload({ credentials, bucket: env.bucket, key: "env/one.txt", body: "x" });
    expect(info).toMatchObject({ bucket: env.bucket, key: "env/one.txt", size: 1 });
    expect(await gcsExists({ credentials, bucket: env.bucket, key: "env/one.txt" })).toBe(true);
  } finally {
    delete process.env.STORAGE_EMULATOR_HOST;
  }
});

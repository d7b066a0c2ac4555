import { execFile } from "node:child_process";
import { chmodSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { fakeSlackToken, isolateEnvironment } from "../test/helpers.js";
import { SecretStoreError } from "./errors.js";
import { resolveSecret } from "./resolve-secret.js";
import { localStore } from "./store.js";

const env = isolateEnvironment();
const run = promisify(execFile);

describe("the local store", () => {
  it("creates a 0600 file and reads back what was set", async () => {
    const store = localStore();
    const storedToken = fakeSlackToken("stored");
    await store.set("SLACK_BOT_TOKEN", storedToken);
    expect(statSync(store.path).mode & 0o777).toBe(0o600);
    expect(store.get("SLACK_BOT_TOKEN")).toBe(storedToken);
    const result = await resolveSecret("SLACK_BOT_TOKEN");
    expect(result.source).toEqual({ kind: "store", detail: store.path });
    expect(await store.remove("SLACK_BOT_TOKEN")).toBe(true);
    expect(await store.remove("SLACK_BOT_TOKEN")).toBe(false);
    expect(store.names()).toEqual([]);
  });

  it("keeps all of 20 concurrent sets in one process", async () => {
    const store = localStore();
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.set(`NAME_${i}`, `value-${i}`)));
    expect(store.names()).toHaveLength(20);
    for (let i = 0; i < 20; i++) expect(store.get(`NAME_${i}`)).toBe(`value-${i}`);
  });

  it("keeps all sets made by concurrent processes", async () => {
    const module = new URL("./store.ts", import.meta.url).pathname;
    const script = `import { localStore } from ${JSON.stringify(module)}; const s = localStore(); for (let i = 0; i < 5; i++) await s.set("P" + process.argv[1] + "_" + i, "v");`;
    await Promise.all(
      Array.from({ length: 4 }, (_, p) =>
        run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script, String(p)], {
          env: { ...process.env, TRIBUTARY_HOME: env.home() },
        }),
      ),
    );
    expect(localStore().names()).toHaveLength(20);
  }, 30_000);

  it("refuses a store other users can read, saying how to fix it", async () => {
    const store = localStore();
    await store.set("SLACK_BOT_TOKEN", fakeSlackToken("stored"));
    chmodSync(store.path, 0o644);
    const error = await resolveSecret("SLACK_BOT_TOKEN").catch((e) => e);
    expect(SecretStoreError.isInstance(error)).toBe(true);
    expect(error.code).toBe("STORE_UNSAFE_PERMISSIONS");
    expect(error.message).toContain(`chmod 600 ${store.path}`);
  });

  it("names a corrupt file and never overwrites it", async () => {
    const store = localStore();
    await mkdir(env.home(), { recursive: true });
    writeFileSync(store.path, "{ half a file", { mode: 0o600 });
    const read = await resolveSecret("SLACK_BOT_TOKEN").catch((e) => e);
    expect(read.code).toBe("STORE_CORRUPT");
    expect(read.message).toContain(store.path);
    const write = await store.set("SLACK_BOT_TOKEN", "xoxb-new-token").catch((e) => e);
    expect(write.code).toBe("STORE_CORRUPT");
    expect(readFileSync(store.path, "utf8")).toBe("{ half a file");
  });

  it("creates a missing home folder (0700) on the first set", async () => {
    const home = join(env.home(), "not", "yet");
    const store = localStore({ home });
    const firstToken = fakeSlackToken("first");
    await store.set("SLACK_BOT_TOKEN", firstToken);
    expect(statSync(home).mode & 0o777).toBe(0o700);
    expect(store.get("SLACK_BOT_TOKEN")).toBe(firstToken);
  });

  it("stores in $TRIBUTARY_HOME, else the user's config folder", () => {
    expect(localStore().path).toBe(join(env.home(), "secrets.json"));
    expect(localStore({ home: "/elsewhere" }).path).toBe("/elsewhere/secrets.json");
    delete process.env.TRIBUTARY_HOME;
    process.env.XDG_CONFIG_HOME = "/xdg";
    expect(localStore().path).toBe("/xdg/tributary/secrets.json");
  });
});

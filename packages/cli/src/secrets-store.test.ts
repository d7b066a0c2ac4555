import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type CliResult, removeTempHomes, runBin, tempHome } from "../test/helpers.js";

afterAll(removeTempHomes);

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;
const printed = (r: CliResult) => r.stdout + r.stderr;
const row = (r: CliResult, name: string) =>
  r.stdout
    .split("\n")
    .find((l) => l.startsWith(`${name} `))
    ?.replace(/ {2,}/g, " ");

describe("the local store through the tributary command", () => {
  it.skipIf(!asRoot)("doctor and list refuse a store another user planted in a shared folder", async () => {
    const home = tempHome();
    chmodSync(home, 0o1777);
    const path = join(home, "secrets.json");
    const planted = {
      ACCESS_KEY: `AKIA${randomBytes(8).toString("hex").toUpperCase()}`,
      SECRET_ACCESS_KEY: "x".repeat(40),
    };
    writeFileSync(path, JSON.stringify({ version: 1, secrets: { AWS_CREDENTIALS: planted } }), {
      mode: 0o600,
    });
    chownSync(path, NOBODY, NOBODY);

    const doctor = await runBin(["doctor"], { home });
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toContain("PROBLEM STORE_UNSAFE_PERMISSIONS");
    expect(doctor.stdout).toContain(`chmod go-w ${home}`);
    expect(row(doctor, "AWS_CREDENTIALS")).not.toMatch(/ ok /);

    chmodSync(home, 0o700);
    const json = JSON.parse((await runBin(["doctor", "--json"], { home })).stdout);
    expect(json).toMatchObject({
      ok: false,
      store: { status: "problem", error: { code: "STORE_UNSAFE_OWNER" } },
    });
    expect(json.store.error.message).toContain(`chown root ${path}`);

    const list = await runBin(["secrets", "list"], { home });
    expect(list.code).toBe(1);
    for (const r of [doctor, list]) expect(printed(r)).not.toContain(planted.ACCESS_KEY);
  });

  it.skipIf(!asRoot)("doctor reports a shared folder before any store exists in it", async () => {
    const home = tempHome();
    chmodSync(home, 0o777);
    const doctor = await runBin(["doctor"], { home });
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toContain(`chmod go-w ${home}`);
    const set = await runBin(["secrets", "set", "SLACK_BOT_TOKEN"], {
      home,
      input: `xoxb-${randomBytes(12).toString("hex")}`,
    });
    expect(set.code).toBe(1);
    expect(existsSync(join(home, "secrets.json"))).toBe(false);
  });

  it("refuses a value nested 5,000 deep, leaving nothing behind", async () => {
    const home = tempHome();
    // A valid authorized_user key with one extra field nested 5,000 deep.
    const key =
      '{"type":"authorized_user","client_id":"id","client_secret":"s3cr3t","refresh_token":"1//tok"';
    const deep = `${key},"extra":${"[".repeat(5000)}${"]".repeat(5000)}}`;
    const set = await runBin(["secrets", "set", "GCP_CREDENTIALS"], { home, input: deep });
    expect(set.code).toBe(1);
    expect(set.stderr).toContain("GCP_CREDENTIALS was not stored");
    expect(set.stderr).toContain("nests deeper than 32 levels");
    expect(readdirSync(home)).toEqual([]);
  });

  it("refuses input that is not UTF-8 rather than storing U+FFFD", async () => {
    const home = tempHome();
    const bad = await runBin(["secrets", "set", "CUSTOM_NOTE"], {
      home,
      input: Buffer.from([0x63, 0xe9, 0x0a]),
    });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("not valid UTF-8 text");
    expect(existsSync(join(home, "secrets.json"))).toBe(false);
  });

  it("refuses a token an HTTP header cannot carry, naming why", async () => {
    const home = tempHome();
    const set = await runBin(["secrets", "set", "GITHUB_ACCESS_TOKEN"], {
      home,
      input: `ghp_${randomBytes(10).toString("hex")}\u00e9`,
    });
    expect(set.code).toBe(1);
    expect(set.stderr).toMatch(/non-ASCII character at position 25, which an HTTP header cannot carry/);
    expect(existsSync(join(home, "secrets.json"))).toBe(false);
  });
});

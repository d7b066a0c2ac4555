import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BIN, removeTempHomes, runBin, tempHome } from "../test/helpers.js";

// The signing commands as a user types them: keys generate/public, deploy --sign, verify, and the trust policy of
// run from --trust-key and from the config file's trustedKeys.
const CLI_NODE_MODULES = join(dirname(BIN), "..", "node_modules");
const PREFIX = "TRIBUTARY__CONTEXT__SECRETS__";
afterAll(() => removeTempHomes());

/** A project: installed packages, a flow deployed to `<project>/flows`, and a folder to keep keys in. */
function project(): { dir: string; file: string; storage: string; address: string } {
  const dir = tempHome();
  symlinkSync(CLI_NODE_MODULES, join(dir, "node_modules"), "dir");
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "p", private: true, type: "module" }));
  const storage = join(dir, "flows");
  const file = join(dir, "nightly.ts");
  writeFileSync(
    file,
    `import { fileStorage, flow } from "@tributary/flow";
export const nightly = flow({ name: "nightly", storage: fileStorage({ path: ${JSON.stringify(storage)} }) }, async () => "ran");
`,
  );
  return { dir, file, storage, address: `file://${storage}/nightly` };
}

describe("tributary keys", () => {
  it("generate stores the private key, prints only the public key, and refuses to replace a key without --force", async () => {
    const home = tempHome();
    const out = join(home, "keys", "release.pub");
    const made = await runBin(["keys", "generate", "--name", "release", "--out", out], { home });
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(
      /^Tributary signing key: release\n-----BEGIN PUBLIC KEY-----\n[\s\S]+-----END PUBLIC KEY-----\n$/,
    );
    expect(made.stderr).toMatch(/Stored the private key as TRIBUTARY_SIGNING_KEY in .*; key id [0-9a-f]{16}/);
    expect(made.stdout + made.stderr).not.toContain("PRIVATE KEY");
    expect(readFileSync(out, "utf8")).toBe(made.stdout);
    const store = readFileSync(join(home, "secrets.json"), "utf8");
    expect(JSON.parse(store).secrets.TRIBUTARY_SIGNING_KEY).toMatch(
      /^Tributary signing key: release\n-----BEGIN PRIVATE KEY-----\n/,
    );

    const again = await runBin(["keys", "generate"], { home });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("already holds TRIBUTARY_SIGNING_KEY; nothing was changed");
    expect(readFileSync(join(home, "secrets.json"), "utf8")).toBe(store);

    const shown = await runBin(["keys", "public", "--json"], { home });
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ label: "release", publicKey: made.stdout });
  });

  it("public refuses a stored value that is not an Ed25519 key, without printing it", async () => {
    const home = tempHome();
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({
      type: "pkcs8",
      format: "pem",
    }) as string;
    const result = await runBin(["keys", "public"], {
      home,
      env: { [`${PREFIX}TRIBUTARY_SIGNING_KEY`]: rsa },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      "Invalid secret TRIBUTARY_SIGNING_KEY: is not an Ed25519 private key in PKCS#8 PEM",
    );
    expect(result.stdout + result.stderr).not.toContain(rsa.split("\n")[1] as string);
  });
});

describe("deploy --sign, verify and run with a trust policy", () => {
  it("refuses to deploy unsigned when the signing key is missing (nothing is written); finds it in a config backend", async () => {
    const p = project();
    const result = await runBin(["deploy", p.file, "--sign"], { home: tempHome(), cwd: p.dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("No value for secret TRIBUTARY_SIGNING_KEY");
    expect(existsSync(p.storage) ? readdirSync(p.storage) : []).toEqual([]);

    // A mounted folder named by the config file's backends holds it: the deploy is signed.
    const key = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }) as string;
    mkdirSync(join(p.dir, "mounted"));
    writeFileSync(join(p.dir, "mounted", "TRIBUTARY_SIGNING_KEY"), key);
    writeFileSync(
      join(p.dir, "tributary.config.json"),
      JSON.stringify({ backends: [{ directory: "mounted" }] }),
    );
    const signed = await runBin(["deploy", p.file, "--sign", "--json"], { home: tempHome(), cwd: p.dir });
    expect(signed.code, signed.stderr).toBe(0);
    expect(JSON.parse(signed.stdout).signedBy).toEqual({
      keyId: expect.stringMatching(/^[0-9a-f]{16}$/),
      label: null,
    });
    expect(readdirSync(join(p.storage, "nightly")).sort()).toEqual([
      "flow.mjs",
      "manifest.json",
      "manifest.sig.json",
    ]);
  });

  it("signs with a key passed as CI does (--signing-key NAME from the environment); verify and run trust the config's keys", async () => {
    const p = project();
    const keyHome = tempHome();
    const made = await runBin(
      ["keys", "generate", "--name", "ci", "--secret", "CI_KEY", "--out", join(p.dir, "keys", "ci.pub")],
      {
        home: keyHome,
      },
    );
    expect(made.code, made.stderr).toBe(0);
    // What CI holds in its secret store, copied from where the key was made.
    const privateKey = JSON.parse(readFileSync(join(keyHome, "secrets.json"), "utf8")).secrets
      .CI_KEY as string;
    const deployed = await runBin(["deploy", p.file, "--signing-key", "CI_KEY", "--json"], {
      home: tempHome(),
      cwd: p.dir,
      env: { [`${PREFIX}CI_KEY`]: privateKey },
    });
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(JSON.parse(deployed.stdout)).toMatchObject({ address: p.address, signedBy: { label: "ci" } });
    expect(deployed.stdout + deployed.stderr).not.toContain("PRIVATE KEY");

    // No policy: verify asks for one; run says the deployment is not verified.
    const noPolicy = await runBin(["verify", p.address], { home: tempHome(), cwd: p.dir });
    expect(noPolicy.code).toBe(2);
    const unverified = await runBin(["run", p.address], { home: tempHome(), cwd: p.dir });
    expect(unverified.code).toBe(0);
    expect(unverified.stderr).toContain("note: deployments are not verified");

    // The config file names the key by a path relative to itself.
    writeFileSync(join(p.dir, "tributary.config.json"), JSON.stringify({ trustedKeys: ["keys/ci.pub"] }));
    const verified = await runBin(["verify", p.address], { home: tempHome(), cwd: p.dir });
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(
      new RegExp(`^Trusted: flow nightly at ${p.address}\\n  signed by key [0-9a-f]{16} \\(ci\\) at \\d{4}-`),
    );
    const trusted = await runBin(["run", p.address], { home: tempHome(), cwd: p.dir });
    expect(trusted.code, trusted.stderr).toBe(0);
    expect(trusted.stderr).not.toContain("not verified");

    // Another key on the command line replaces the config's: the deployment is then not trusted.
    const other = join(p.dir, "other.pub");
    await runBin(["keys", "generate", "--out", other], { home: tempHome() });
    const refused = await runBin(["run", p.address, "--trust-key", other, "--json"], {
      home: tempHome(),
      cwd: p.dir,
    });
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout).error).toMatchObject({ code: "UNTRUSTED_DEPLOYMENT" });
    expect(JSON.parse(refused.stdout).error.message).toContain("not trusted (unknown-key)");
    const both = await runBin(["run", p.address, "--trust-key", other, "--unverified"], {
      home: tempHome(),
      cwd: p.dir,
    });
    expect(both.code).toBe(2);
  });

  it.each([
    ["an empty list", "[]", /"trustedKeys" must be a list of one or more public keys/],
    ["a missing file", '["nope.pub"]', /trustedKeys\[0\]: .*nope\.pub cannot be read/],
    ["a private key", "PRIVATE", /trustedKeys\[0\]: a trusted key is an Ed25519 public key/],
  ])("refuses a config file whose trustedKeys is %s, before running anything", async (_, keys, message) => {
    const p = project();
    const pem = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }) as string;
    mkdirSync(join(p.dir, "cfg"));
    writeFileSync(
      join(p.dir, "cfg", "tributary.config.json"),
      `{ "trustedKeys": ${keys === "PRIVATE" ? JSON.stringify([pem]) : keys} }`,
    );
    const result = await runBin(["run", p.address, "--config", join(p.dir, "cfg", "tributary.config.json")], {
      home: tempHome(),
      cwd: p.dir,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toContain(pem.split("\n")[1] as string);
  });
});

// A real npm registry on localhost for the release rehearsal: Verdaccio (a devDependency, so it comes from the
// lockfile) on a free port, with throwaway storage, no uplink, and a user whose token goes into a `.npmrc` written for
// the run, the way a release job gets its token.
//
// Offline cache rather than an uplink: the packages our packages depend on are put into Verdaccio's storage before it
// starts, made from the copies `pnpm install --frozen-lockfile` put in node_modules/.pnpm (one tarball per package
// and version, packed from those files, with a packument listing exactly those versions). So:
// - nothing is downloaded while the rehearsal runs (an uplink would fetch every @aws-sdk/@smithy packument, many MB
//   each, on every CI run: slow, and a network failure would fail the release check for a reason that is not ours);
// - every third-party dependency resolves to the version the lockfile holds: a range in a published manifest that
//   the lockfile's version does not satisfy fails the install instead of silently taking a newer version.
// What an uplink would prove and this does not: that those versions are still on the public registry (they are, the
// workspace's own install just fetched them). Optional platform packages of other platforms (esbuild's, duckdb's)
// are not in the store; installers skip an optional dependency they cannot find.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

interface PackageJson {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/** A package as installed in node_modules/.pnpm: its folder and its manifest. */
interface Installed {
  dir: string;
  manifest: PackageJson;
}

/** The folder that `name` resolves to from a package folder, the way Node would (pnpm puts deps beside it). */
function resolveFrom(packageDir: string, name: string): string | undefined {
  let dir = packageDir;
  for (;;) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return realpathSync(candidate);
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * Every third-party package (name and version) that installing `roots` needs, found by following the dependencies of
 * the copies installed in the workspace from `dirs` (the @tributary/* package folders and the root). Names starting
 * with `skipPrefix` are ours and come from the publish instead.
 */
export function dependencyClosure(
  roots: { from: string; names: string[] }[],
  skipPrefix: string,
): Map<string, Installed> {
  const found = new Map<string, Installed>();
  const visit = (from: string, name: string, optional: boolean) => {
    if (name.startsWith(skipPrefix)) return;
    const dir = resolveFrom(from, name);
    if (!dir) {
      if (optional) return;
      throw new Error(`${name} is needed by ${from} but is not installed there; run pnpm install`);
    }
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as PackageJson;
    const key = `${manifest.name}@${manifest.version}`;
    if (found.has(key)) return;
    found.set(key, { dir, manifest });
    for (const dep of Object.keys(manifest.dependencies ?? {})) visit(dir, dep, false);
    for (const dep of Object.keys(manifest.optionalDependencies ?? {})) visit(dir, dep, true);
    for (const dep of Object.keys(manifest.peerDependencies ?? {}))
      visit(dir, dep, manifest.peerDependenciesMeta?.[dep]?.optional === true);
  };
  for (const root of roots) for (const name of root.names) visit(root.from, name, false);
  return found;
}

/** Packs every package of `closure` into Verdaccio's storage layout under `storage`, with one packument per name. */
export async function seedStorage(storage: string, closure: Map<string, Installed>): Promise<void> {
  const byName = new Map<string, Installed[]>();
  for (const installed of closure.values())
    byName.set(installed.manifest.name, [...(byName.get(installed.manifest.name) ?? []), installed]);
  const jobs = [...closure.values()];
  const packed = new Map<string, { file: string; shasum: string; integrity: string }>();
  const pack = async ({ dir, manifest }: Installed) => {
    const folder = join(storage, manifest.name);
    mkdirSync(folder, { recursive: true });
    const file = `${manifest.name.split("/").pop()}-${manifest.version}.tgz`;
    const path = join(folder, file);
    await execFileAsync("tar", [
      "--create",
      "--file",
      path,
      "--use-compress-program=gzip -1",
      "--owner=0",
      "--group=0",
      "--numeric-owner",
      // pnpm's store links files of equal content to one inode; a tarball must hold each as a file of its own.
      "--hard-dereference",
      "--exclude=./node_modules",
      "--transform=s,^\\.,package,",
      "-C",
      dir,
      ".",
    ]);
    const bytes = readFileSync(path);
    packed.set(`${manifest.name}@${manifest.version}`, {
      file,
      shasum: createHash("sha1").update(bytes).digest("hex"),
      integrity: `sha512-${createHash("sha512").update(bytes).digest("base64")}`,
    });
  };
  const workers = Array.from({ length: 4 }, async () => {
    for (let job = jobs.shift(); job; job = jobs.shift()) await pack(job);
  });
  await Promise.all(workers);

  // The public registry's publish times are not in the lockfile; these versions are old enough for any
  // minimum-release-age policy (pnpm's default holds back versions published in the last day).
  const now = "2020-01-01T00:00:00.000Z";
  for (const [name, versions] of byName) {
    const sorted = versions.map((v) => v.manifest.version).sort(compareVersions);
    const packument = {
      name,
      versions: Object.fromEntries(
        versions.map(({ manifest }) => {
          const tarball = packed.get(`${name}@${manifest.version}`)!;
          return [
            manifest.version,
            {
              ...manifest,
              _id: `${name}@${manifest.version}`,
              dist: {
                tarball: `http://localhost/${name}/-/${tarball.file}`,
                shasum: tarball.shasum,
                integrity: tarball.integrity,
              },
            },
          ];
        }),
      ),
      "dist-tags": { latest: sorted[sorted.length - 1] },
      time: Object.fromEntries([["created", now], ["modified", now], ...sorted.map((v) => [v, now])]),
      _uplinks: {},
      _distfiles: {},
      _attachments: Object.fromEntries(
        versions.map(({ manifest }) => [
          packed.get(`${name}@${manifest.version}`)!.file,
          { shasum: packed.get(`${name}@${manifest.version}`)!.shasum },
        ]),
      ),
      _rev: "1-0000000000000000",
    };
    writeFileSync(join(storage, name, "package.json"), JSON.stringify(packument));
  }
}

/** Semver order for plain and prerelease versions (a prerelease sorts before its release). */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const [core = "", pre] = v.split("-", 2);
    return { parts: core.split(".").map(Number), pre };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) {
    const d = (x.parts[i] ?? 0) - (y.parts[i] ?? 0);
    if (d !== 0) return d;
  }
  if (x.pre === y.pre) return 0;
  if (x.pre === undefined) return 1;
  if (y.pre === undefined) return -1;
  return x.pre < y.pre ? -1 : 1;
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** A running Verdaccio: its URL, the `.npmrc` with the run's token, and how to stop it. */
export interface LocalRegistry {
  url: string;
  npmrc: string;
  stop(): void;
}

/**
 * Starts Verdaccio on a free localhost port with storage under `dir` (already seeded), `@tributary/*` publishable by
 * an authenticated user and nothing proxied, creates that user, and writes `dir/.npmrc` with the registry and the
 * user's token. Writes Verdaccio's pid to `dir/verdaccio.pid` so a shell trap can stop it even if this process dies.
 */
export async function startLocalRegistry(dir: string, verdaccioBin: string): Promise<LocalRegistry> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const config = join(dir, "verdaccio.yaml");
  writeFileSync(
    config,
    [
      `storage: ${JSON.stringify(join(dir, "storage"))}`,
      "auth:",
      "  htpasswd:",
      `    file: ${JSON.stringify(join(dir, "htpasswd"))}`,
      "    max_users: 10",
      "uplinks: {}",
      "packages:",
      "  '**':",
      "    access: $all",
      "    publish: $authenticated",
      "max_body_size: 500mb",
      "log: { type: stdout, format: pretty, level: warn }",
      "web: { enable: false }",
      "",
    ].join("\n"),
  );
  const log = join(dir, "verdaccio.log");
  const child: ChildProcess = spawn(
    process.execPath,
    [verdaccioBin, "--config", config, "--listen", `127.0.0.1:${port}`],
    {
      stdio: ["ignore", "pipe", "pipe"],
      detached: false,
    },
  );
  writeFileSync(join(dir, "verdaccio.pid"), String(child.pid));
  const output: string[] = [];
  child.stdout?.on("data", (d: Buffer) => output.push(d.toString()));
  child.stderr?.on("data", (d: Buffer) => output.push(d.toString()));
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    writeFileSync(log, output.join(""));
  };
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`Verdaccio exited:\n${output.join("")}`);
      try {
        const response = await fetch(`${url}-/ping`);
        if (response.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`Verdaccio did not answer within 60 s:\n${output.join("")}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    // The user a release job's token belongs to; the password is made for this run and never printed.
    const password = createHash("sha256").update(`${Math.random()}${Date.now()}`).digest("hex");
    const response = await fetch(`${url}-/user/org.couchdb.user:rehearsal`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "rehearsal", password, type: "user", roles: [] }),
    });
    const body = (await response.json()) as { token?: string };
    if (!response.ok || !body.token)
      throw new Error(`could not create the registry user: ${response.status}`);
    const npmrc = join(dir, ".npmrc");
    const host = url.replace(/^http:/, "");
    writeFileSync(npmrc, `registry=${url}\n${host}:_authToken=${body.token}\n`, { mode: 0o600 });
    return { url, npmrc, stop };
  } catch (error) {
    stop();
    throw error;
  }
}

/** Removes the registry's folder (storage, config, token). */
export function removeRegistryDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

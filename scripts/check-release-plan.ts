// Checks the versions `changeset status` plans against the policy in .changeset/config.json: every @tributary/*
// package is released together (one fixed group) at one version, bumped by the largest bump a changeset asks for —
// never more (a peer dependency must not turn a minor into 1.0.0 at 0.x). Exits 1 naming each package that differs.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

type Bump = "none" | "patch" | "minor" | "major";
interface Status {
  changesets: { id: string; releases: { name: string; type: Bump }[] }[];
  releases: { name: string; type: Bump; oldVersion: string; newVersion: string }[];
}

const root = fileURLToPath(new URL("..", import.meta.url));
const order: Bump[] = ["none", "patch", "minor", "major"];

/** The version `bump` makes of `version`. */
export function bumped(version: string, bump: Bump): string {
  const [major = 0, minor = 0, patch = 0] = version.split(".").map(Number);
  if (bump === "major") return `${major + 1}.0.0`;
  if (bump === "minor") return `${major}.${minor + 1}.0`;
  if (bump === "patch") return `${major}.${minor}.${patch + 1}`;
  return version;
}

const packages = readdirSync(join(root, "packages"))
  .map((dir) => JSON.parse(readFileSync(join(root, "packages", dir, "package.json"), "utf8")))
  .filter((p: { name: string; private?: boolean }) => p.name.startsWith("@tributary/") && !p.private);

const dir = mkdtempSync(join(tmpdir(), "tributary-release-plan-"));
let status: Status;
try {
  const out = join(dir, "status.json");
  execFileSync(join(root, "node_modules", ".bin", "changeset"), ["status", `--output=${out}`], {
    cwd: root,
    stdio: ["ignore", "ignore", "inherit"],
  });
  status = JSON.parse(readFileSync(out, "utf8"));
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const asked = status.changesets
  .flatMap((c) => c.releases.map((r) => r.type))
  .reduce<Bump>((a, b) => (order.indexOf(b) > order.indexOf(a) ? b : a), "none");
const problems: string[] = [];
if (asked !== "none") {
  const current = new Set(packages.map((p: { version: string }) => p.version));
  if (current.size !== 1)
    problems.push(`the packages do not share one version today: ${[...current].join(", ")}`);
  const expected = bumped(packages[0].version, asked);
  for (const p of packages) {
    const release = status.releases.find((r) => r.name === p.name);
    if (!release)
      problems.push(`${p.name}: not in the release plan (the fixed group releases every package)`);
    else if (release.newVersion !== expected)
      problems.push(
        `${p.name}: planned ${release.newVersion} (${release.type}), expected ${expected} (${asked})`,
      );
  }
  console.log(`release plan: ${packages.length} packages ${packages[0].version} → ${expected} (${asked})`);
} else {
  console.log("release plan: no changesets, nothing to release");
}
if (problems.length > 0) {
  console.error(`release plan differs from the policy:\n  ${problems.join("\n  ")}`);
  process.exitCode = 1;
}

import { describe, expect, it } from "vitest";
import { checkPublishedPackage, type PublishedPackage, satisfies } from "./release-checks.ts";

/** A package as the release publishes it, which every check accepts; each case below breaks one thing. */
function goodPackage(): { manifest: PublishedPackage["manifest"]; contents: Record<string, string> } {
  return {
    manifest: {
      name: "@tributary/aws",
      version: "0.1.0",
      license: "MIT",
      repository: {
        type: "git",
        url: "https://github.com/tributary-dev/tributary",
        directory: "packages/aws",
      },
      engines: { node: ">=22" },
      publishConfig: { access: "public", provenance: true },
      main: "./dist/index.cjs",
      types: "./dist/index.d.ts",
      exports: {
        ".": {
          import: { types: "./dist/index.d.ts", default: "./dist/index.js" },
          require: { types: "./dist/index.d.cts", default: "./dist/index.cjs" },
        },
        "./package.json": "./package.json",
      },
      dependencies: { "@tributary/integration-kit": "^0.1.0", "@aws-sdk/client-s3": "^3.1175.0" },
      peerDependencies: { "@tributary/auth": "^0", "@tributary/flow": "^0" },
    },
    contents: {
      "package.json": "{}",
      "README.md": "# @tributary/aws",
      LICENSE: "MIT License",
      "dist/index.js": 'import { a } from "./chunk-1.js";\n//# sourceMappingURL=index.js.map',
      "dist/index.js.map": "{}",
      "dist/chunk-1.js": "export const a = 1;",
      "dist/index.cjs": "module.exports = {};",
      "dist/index.d.ts": "export {};",
      "dist/index.d.cts": "export {};",
    },
  };
}

function check(change: (pkg: ReturnType<typeof goodPackage>) => void): string[] {
  const pkg = goodPackage();
  change(pkg);
  const files = Object.keys(pkg.contents);
  return checkPublishedPackage(
    { manifest: pkg.manifest, files, read: (path) => pkg.contents[path] ?? "" },
    "0.1.0",
  );
}

describe("checkPublishedPackage", () => {
  it("accepts a package published as the release publishes it", () => {
    expect(check(() => {})).toEqual([]);
  });

  it.each([
    [
      "a workspace: range left in",
      (p: ReturnType<typeof goodPackage>) => {
        p.manifest.peerDependencies = { "@tributary/auth": "workspace:^0" };
      },
      '"@tributary/auth" is "workspace:^0" in the published manifest',
    ],
    [
      "a @tributary/* dependency on another version",
      (p: ReturnType<typeof goodPackage>) => {
        p.manifest.dependencies = { "@tributary/integration-kit": "^0.0.9" };
      },
      'dependencies.@tributary/integration-kit is "^0.0.9", which does not take 0.1.0',
    ],
    [
      "a test file shipped",
      (p: ReturnType<typeof goodPackage>) => {
        p.contents["dist/s3-upload.test.js"] = "";
      },
      "dist/s3-upload.test.js is a test file",
    ],
    [
      "a stand-in shipped in an integration package",
      (p: ReturnType<typeof goodPackage>) => {
        p.contents["dist/s3-stand-in.js"] = "";
      },
      "dist/s3-stand-in.js is a stand-in",
    ],
    [
      "a file no entry point reaches",
      (p: ReturnType<typeof goodPackage>) => {
        p.contents["dist/bin.cjs"] = "";
      },
      "dist/bin.cjs is shipped but no entry point reaches it",
    ],
    [
      "an entry point missing from the tarball",
      (p: ReturnType<typeof goodPackage>) => {
        delete p.contents["dist/index.cjs"];
      },
      "dist/index.cjs is an entry point but is not in the tarball",
    ],
    [
      "a missing license",
      (p: ReturnType<typeof goodPackage>) => {
        delete p.manifest.license;
      },
      "no license",
    ],
    [
      "no LICENSE file in the tarball",
      (p: ReturnType<typeof goodPackage>) => {
        delete p.contents.LICENSE;
      },
      "LICENSE is not in the tarball",
    ],
    [
      "no README.md in the tarball",
      (p: ReturnType<typeof goodPackage>) => {
        delete p.contents["README.md"];
      },
      "README.md is not in the tarball",
    ],
    [
      "no provenance",
      (p: ReturnType<typeof goodPackage>) => {
        p.manifest.publishConfig = { access: "public" };
      },
      "publishConfig.provenance is not true",
    ],
    [
      "no repository or engines",
      (p: ReturnType<typeof goodPackage>) => {
        delete p.manifest.repository;
        delete p.manifest.engines;
      },
      "no repository",
    ],
  ])("names %s", (_what, change, expected) => {
    const problems = check(change);
    expect(problems.some((p) => p.startsWith("@tributary/aws: ") && p.includes(expected))).toBe(true);
  });
});

describe("satisfies", () => {
  it.each([
    ["0.1.0", "^0", true],
    ["1.0.0", "^0", false],
    ["0.1.0", "^0.1.0", true],
    ["0.2.0", "^0.1.0", false],
    ["0.1.3", "~0.1.0", true],
    ["0.1.0", "0.1.0", true],
    ["0.1.1", "0.1.0", false],
    ["2.0.0", ">=1.2.0", true],
    ["1.4.0", "^1.2.0", true],
  ])("%s against %s is %s", (version, range, expected) => {
    expect(satisfies(version, range)).toBe(expected);
  });
});

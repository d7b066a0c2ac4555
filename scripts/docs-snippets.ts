// Keeps the examples in README.md, the packages' README.md files and docs/ honest:
// 1. every ```ts block is type-checked against the BUILT packages (run `pnpm build` first) with the project's
//    strict settings (tsconfig.base.json). A block opts out only with a first line `// not compiled: <reason>`,
//    which readers see too.
// 2. the README's example and the first example of each integration page are run, as they are, against the local
//    stand-ins of @tributary/testing: the environment points the SDKs at them (as an operator would point them at
//    the real services), and the stand-ins are asked afterwards whether the example did what it says.
// Usage: node --import tsx scripts/docs-snippets.ts [--no-run]
import { spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { s3Upload } from "@tributary/aws";
import {
  generateGitHubToken,
  startGitHubStandIn,
  startGoogleStandIn,
  startS3StandIn,
  startSlackStandIn,
} from "@tributary/testing";

const root = join(import.meta.dirname, "..");
const work = join(root, ".doc-snippets");
const OPT_OUT = /^\/\/ not compiled: (.{8,})$/;

/** One ```ts block of a markdown file. */
interface Snippet {
  /** The markdown file, relative to the repository root. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
  /** The reason given with `// not compiled:`, when the block opts out. */
  optOut?: string;
}

/** Every ```ts (or ```typescript) block of a markdown text, with the line of its fence. */
function extractSnippets(file: string, text: string): Snippet[] {
  const lines = text.split("\n");
  const out: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(ts|typescript)(\s.*)?$/.exec(lines[i] ?? "");
    if (!open) continue;
    const indent = open[1]?.length ?? 0;
    const fence = open[2] ?? "```";
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && (lines[j] ?? "").trim() !== fence; j++)
      body.push((lines[j] ?? "").slice(indent));
    const code = body.join("\n");
    const optOut = OPT_OUT.exec(body[0] ?? "")?.[1];
    out.push({ file, line: i + 1, code, ...(optOut ? { optOut } : {}) });
    i = j;
  }
  return out;
}

function markdownFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      // Generated pages (the TypeDoc reference) come from the TSDoc comments, which the packages' own
      // type-check covers; VitePress's cache and output are not docs.
      if (entry.name === "reference" || entry.name.startsWith(".") || entry.name === "node_modules") continue;
      out.push(...markdownFiles(path));
    } else if (entry.name.endsWith(".md")) out.push(path);
  }
  return out.sort();
}

function snippetFileName(snippet: Snippet): string {
  return `${snippet.file.replace(/\.md$/, "").replace(/[^a-zA-Z0-9]+/g, "-")}-L${snippet.line}.ts`;
}

function writeSnippet(snippet: Snippet): string {
  const name = snippetFileName(snippet);
  // One header line, so line n of the block is line n + 1 of the file.
  writeFileSync(join(work, name), `// ${snippet.file}:${snippet.line}\n${snippet.code}\nexport {};\n`);
  return name;
}

/** Type-checks the snippets together; returns the number of snippets with at least one error. */
function compile(snippets: Snippet[]): number {
  const byFile = new Map<string, Snippet>();
  for (const snippet of snippets) byFile.set(writeSnippet(snippet), snippet);
  writeFileSync(
    join(work, "tsconfig.json"),
    JSON.stringify({ extends: "../tsconfig.base.json", include: ["*.ts"] }, null, 2),
  );
  const tsc = spawnSync("npx", ["tsc", "-p", work, "--pretty", "false"], { cwd: root, encoding: "utf8" });
  const output = `${tsc.stdout}${tsc.stderr}`;
  const failing = new Set<string>();
  let errors = 0;
  for (const line of output.split("\n")) {
    const m = /^(?:\.doc-snippets\/)?([^(]+\.ts)\((\d+),(\d+)\): (.*)$/.exec(line.replace(`${work}/`, ""));
    const snippet = m ? byFile.get(m[1] ?? "") : undefined;
    if (m && snippet) {
      errors++;
      failing.add(m[1] ?? "");
      console.error(`${snippet.file}:${snippet.line + Number(m[2]) - 1}:${m[3]}: ${m[4]}`);
    } else if (line.trim() !== "") console.error(line);
  }
  if (tsc.status !== 0 && errors === 0) return snippets.length;
  return failing.size;
}

/** What a run needs: the environment to start the example in, and a check of the stand-ins afterwards. */
interface RunSetup {
  env: Record<string, string>;
  check(stdout: string): Promise<string | undefined>;
  close(): Promise<void>;
}

function awsEnv(s3: Awaited<ReturnType<typeof startS3StandIn>>): Record<string, string> {
  const key = s3.keyPairs[0]!;
  return {
    AWS_ENDPOINT_URL_S3: s3.url,
    AWS_REGION: "us-east-1",
    TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS: JSON.stringify({
      ACCESS_KEY: key.accessKeyId,
      SECRET_ACCESS_KEY: key.secretAccessKey,
    }),
  };
}

const expect = (ok: boolean, what: string) => (ok ? undefined : what);

/** The examples that run, by file: the README's, and the first of each integration page. */
const RUNS: Record<string, () => Promise<RunSetup>> = {
  "README.md": async () => {
    const s3 = await startS3StandIn({ buckets: ["exports"] });
    const slack = await startSlackStandIn({ tokens: [], webhooks: ["T000/B000/nightly"] });
    const env = { ...awsEnv(s3), NIGHTLY_WEBHOOK: slack.webhookUrl("T000/B000/nightly") };
    const key = s3.keyPairs[0]!;
    await s3Upload({
      endpoint: s3.url,
      forcePathStyle: true,
      credentials: key,
      bucket: "exports",
      key: "2026-11-26.csv",
      body: "id,total\n1,42\n2,7\n",
    });
    return {
      env,
      check: async (stdout) =>
        expect(stdout.includes("completed"), 'it prints "completed"') ??
        expect(
          JSON.stringify(slack.received.webhooks).includes("Nightly export 2026-11-26: 2 rows"),
          "Slack received 'Nightly export 2026-11-26: 2 rows'",
        ),
      close: async () => {
        await Promise.all([s3.close(), slack.close()]);
      },
    };
  },
  "docs/aws.md": async () => {
    const s3 = await startS3StandIn({ buckets: ["reports"] });
    return {
      env: awsEnv(s3),
      check: async (stdout) =>
        expect(stdout.includes("completed"), 'it prints "completed"') ??
        expect(s3.objectKeys("reports").length > 0, "an object was uploaded to the bucket reports"),
      close: () => s3.close(),
    };
  },
  "docs/gcp.md": async () => {
    const google = await startGoogleStandIn();
    const key = await google.createServiceAccount();
    google.createBucket("reports");
    return {
      env: {
        STORAGE_EMULATOR_HOST: google.url,
        TRIBUTARY__CONTEXT__SECRETS__GCP_CREDENTIALS: JSON.stringify(key),
      },
      check: async (stdout) =>
        expect(stdout.includes("completed"), 'it prints "completed"') ??
        expect(google.objectNames("reports").length > 0, "an object was uploaded to the bucket reports"),
      close: () => google.close(),
    };
  },
  "docs/slack.md": async () => {
    const slack = await startSlackStandIn({ tokens: [], webhooks: ["T000/B000/alerts"] });
    return {
      env: { SLACK_WEBHOOK_URL: slack.webhookUrl("T000/B000/alerts") },
      check: async (stdout) =>
        expect(stdout.includes("failed"), 'it prints "failed"') ??
        expect(slack.received.webhooks.length === 2, "Slack received two webhook posts") ??
        expect(
          !JSON.stringify(slack.received.webhooks).includes("hunter2") &&
            JSON.stringify(slack.received.webhooks).includes("[redacted]"),
          "the failure notice shows [redacted], not the password",
        ),
      close: () => slack.close(),
    };
  },
  "docs/github.md": async () => {
    const token = generateGitHubToken();
    const github = await startGitHubStandIn({
      tokens: [token],
      repos: [{ fullName: "acme/app", files: { VERSION: "1.4.2\n" } }],
    });
    return {
      env: { GITHUB_TOKEN: token, GITHUB_API_URL: github.url },
      check: async (stdout) =>
        expect(stdout.includes("completed"), 'it prints "completed"') ??
        expect(
          github.repo("acme/app")?.file("VERSION", "bot/v1.4.3") === "1.4.3\n",
          "VERSION 1.4.3 on bot/v1.4.3",
        ),
      close: () => github.close(),
    };
  },
};

function runSnippet(
  name: string,
  env: Record<string, string>,
): Promise<{ code: number | null; out: string }> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) =>
        !k.startsWith("TRIBUTARY") &&
        !k.startsWith("AWS_") &&
        !k.startsWith("GITHUB_") &&
        !k.startsWith("SLACK_"),
    ),
  );
  const home = mkdtempSync(join(tmpdir(), "tributary-snippet-"));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(work, name)], {
      cwd: work,
      env: { ...clean, TRIBUTARY_HOME: home, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      out += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      rmSync(home, { recursive: true, force: true });
      resolve({ code, out });
    });
  });
}

async function main(): Promise<void> {
  const started = performance.now();
  if (!existsSync(join(root, "packages", "auth", "dist"))) {
    console.error("docs:snippets: the packages are not built: run `pnpm build` first");
    process.exit(1);
  }
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  // Each package's README.md is its page on the registry: its example is checked like the docs'.
  const packageReadmes = readdirSync(join(root, "packages"))
    .map((dir) => join(root, "packages", dir, "README.md"))
    .filter((path) => existsSync(path));
  const files = [join(root, "README.md"), ...packageReadmes, ...markdownFiles(join(root, "docs"))];
  const snippets = files.flatMap((path) => extractSnippets(relative(root, path), readFileSync(path, "utf8")));
  const compiled = snippets.filter((s) => !s.optOut);
  for (const s of snippets.filter((s) => s.optOut))
    console.log(`not compiled: ${s.file}:${s.line}: ${s.optOut}`);
  const errors = compile(compiled);
  console.log(
    `docs:snippets: ${compiled.length} examples compiled from ${files.length} files, ${snippets.length - compiled.length} opted out, ${errors} with errors`,
  );
  let passed = compiled.length - errors;
  let failures = errors;

  if (!process.argv.includes("--no-run")) {
    for (const [file, setup] of Object.entries(RUNS)) {
      const first = compiled.find((s) => s.file === file);
      if (!first) {
        console.error(`docs:snippets: ${file} has no example to run`);
        failures++;
        continue;
      }
      const started = performance.now();
      const run = await setup();
      try {
        const { code, out } = await runSnippet(snippetFileName(first), run.env);
        const problem = code === 0 ? await run.check(out) : `it exited with ${code}`;
        const ms = Math.round(performance.now() - started);
        if (problem) {
          failures++;
          console.error(`FAIL ${first.file}:${first.line} (${ms} ms): expected ${problem}. Output:\n${out}`);
        } else {
          passed++;
          console.log(`ran  ${first.file}:${first.line} against the stand-ins (${ms} ms)`);
        }
      } finally {
        await run.close();
      }
    }
  }
  console.log(`docs:snippets: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  console.log(`snippets: ${passed} passed, ${failures} failed`);
  process.exit(failures > 0 ? 1 : 0);
}

await main();

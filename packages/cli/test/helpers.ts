// Test-only helpers: not exported from the package (src/index.ts) and not bundled.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { BUNDLE_FILE, createManifest, fileStorage, MANIFEST_FILE } from "@tributary/flow";
import type { CliReadable } from "../src/cli-io.js";
import { runCli } from "../src/run-cli.js";

/** The built entry point the child-process tests run. */
export const BIN = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "bin.js");

/** What one run of the command printed and returned. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const homes: string[] = [];

/** A fresh folder for `TRIBUTARY_HOME`, removed by `removeTempHomes()`. */
export function tempHome(): string {
  const home = mkdtempSync(join(tmpdir(), "tributary-cli-"));
  homes.push(home);
  return home;
}

/** Removes every folder made by `tempHome()`. */
export function removeTempHomes(): void {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
}

/**
 * A minimal environment: PATH, the given home (also as HOME, so no ~/.aws or gcloud file of the machine is seen),
 * metadata endpoints switched off, and extra variables; nothing inherited that holds credentials.
 */
export function cliEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "",
    TRIBUTARY_HOME: home,
    HOME: home,
    AWS_EC2_METADATA_DISABLED: "true",
    METADATA_SERVER_DETECTION: "none",
    ...extra,
  };
}

/** Collects a child process's stdout and stderr as text, and resolves with its exit code once it closes. */
export function collectOutput(child: ChildProcess): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (c: string) => {
      stdout += c;
    });
    child.stderr?.setEncoding("utf8").on("data", (c: string) => {
      stderr += c;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs `node dist/bin.js ...args` in a child process, writing `input` to its stdin (a pipe, never a terminal). */
export function runBin(
  args: readonly string[],
  options: { home: string; input?: string | Uint8Array; env?: Record<string, string>; cwd?: string },
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: cliEnv(options.home, options.env),
      ...(options.cwd ? { cwd: options.cwd } : {}),
      stdio: ["pipe", "pipe", "pipe"],
    });
    collectOutput(child).then(resolve, reject);
    child.stdin.end(options.input ?? "");
  });
}

/** Runs `runCli` in this process with captured output. */
export async function runInProcess(
  args: readonly string[],
  options: { home: string; input?: string | CliReadable; env?: Record<string, string> },
): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const stdin =
    typeof options.input === "string" || options.input === undefined
      ? Readable.from([Buffer.from(options.input ?? "", "utf8")])
      : options.input;
  const code = await runCli(args, {
    stdin,
    stdout: { write: (c: string) => (stdout += c) },
    stderr: { write: (c: string) => (stderr += c) },
    env: cliEnv(options.home, options.env),
  });
  return { code, stdout, stderr };
}

/** A fake terminal for the hidden prompt: records raw-mode switches; `type()` sends keystrokes. */
export function fakeTerminal(): CliReadable & { rawModes: boolean[]; type(text: string): void } {
  const stream = new PassThrough() as unknown as CliReadable & {
    rawModes: boolean[];
    type(text: string): void;
  };
  stream.isTTY = true;
  stream.isRaw = false;
  stream.rawModes = [];
  stream.setRawMode = (mode: boolean) => {
    stream.rawModes.push(mode);
    stream.isRaw = mode;
    return stream;
  };
  stream.type = (text: string) => {
    (stream as unknown as PassThrough).write(text);
  };
  return stream;
}

/**
 * Saves a flow module as a deployment in a folder, as `tributary deploy` would after bundling (the module is
 * used as it is), and returns its `file://` address.
 */
export async function saveDeployment(
  folder: string,
  flow: string,
  source: string,
  flowSecrets: readonly string[] = [],
): Promise<string> {
  const storage = fileStorage({ path: folder });
  const bundle = Buffer.from(source);
  const manifest = createManifest({ flow, flowSecrets, storageSecrets: [], bundle, tributary: {} });
  await storage.save(flow, [
    { name: BUNDLE_FILE, bytes: bundle },
    { name: MANIFEST_FILE, bytes: Buffer.from(JSON.stringify(manifest)) },
  ]);
  return storage.address(flow);
}

/**
 * Waits until a `tributary agent start` child says it takes runs, or rejects with its stderr if it exits first.
 * Resolves to its stderr so far (collecting goes on) and its exit.
 */
export async function agentReady(
  child: ChildProcess,
): Promise<{ stderr: () => string; exited: Promise<number | null> }> {
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stderr?.on("data", () => {
      if (stderr.includes("takes runs from queue")) resolve();
    });
    exited.then((code) => reject(new Error(`agent start exited with ${code}:\n${stderr}`)));
  });
  return { stderr: () => stderr, exited };
}

import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { startS3StandIn } from "@tributary/testing";
import { describe, expect, it } from "vitest";

const DIST = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "index.js")).href;

function runNode(
  script: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (c: string) => {
      stderr += c;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

describe("the AWS SDK's own output", () => {
  it("a process that uploads to S3 prints nothing on stderr: no Node version warning", async () => {
    const s3 = await startS3StandIn({ buckets: ["quiet"] });
    try {
      const key = s3.keyPairs[0];
      const script = `
        const { s3Upload } = await import(${JSON.stringify(DIST)});
        await s3Upload({ endpoint: ${JSON.stringify(s3.url)}, forcePathStyle: true, region: "us-east-1",
          credentials: { ACCESS_KEY: ${JSON.stringify(key?.accessKeyId)}, SECRET_ACCESS_KEY: ${JSON.stringify(key?.secretAccessKey)} },
          bucket: "quiet", key: "a.txt", body: "hello" });
      `;
      const r = await runNode(script, { TRIBUTARY_HOME: "/nonexistent-tributary-home" });
      expect(r).toEqual({ code: 0, stderr: "" });
      expect(s3.objectKeys("quiet")).toEqual(["a.txt"]);
    } finally {
      await s3.close();
    }
  });
});

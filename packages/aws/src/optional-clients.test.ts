import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type S3StandIn, startS3StandIn } from "@tributary/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installCopies } from "../../flow/test/install-copies.js";

const AWS = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The optional peer dependencies, and the tasks and backends that need each. */
const OPTIONAL: [string, string[]][] = [
  ["@aws-sdk/client-lambda", ["lambdaInvoke", "lambdaList"]],
  ["@aws-sdk/client-sfn", ["sfnStartExecution", "sfnDescribeExecution"]],
  ["@aws-sdk/client-ssm", ["ssmGetParameters", "ssmParameterStoreBackend"]],
  ["@aws-sdk/client-secrets-manager", ["awsSecretsManagerBackend"]],
];

/**
 * What a program sees that installed @tributary/aws alone (without the optional clients), run from the built
 * package as ESM and as CommonJS: an S3 upload to the stand-in, then each call needing an optional client, pointed
 * at a server that counts connections. Prints the upload's key and, per call, the error's name, code and message.
 */
const PROGRAM = `
const endpoint = process.env.WATCHED;
const calls = {
  lambdaInvoke: () => lambdaInvoke({ functionName: "etl", endpoint }),
  lambdaList: () => lambdaList({ endpoint }),
  sfnStartExecution: () =>
    sfnStartExecution({ stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:etl", endpoint }),
  sfnDescribeExecution: () =>
    sfnDescribeExecution({ executionArn: "arn:aws:states:us-east-1:123456789012:execution:etl:run-1", endpoint }),
  ssmGetParameters: () => ssmGetParameters({ names: ["/app/db"], endpoint }),
  ssmParameterStoreBackend: () => ssmParameterStoreBackend({ endpoint }).get("DB_URL"),
  awsSecretsManagerBackend: () => awsSecretsManagerBackend({ endpoint }).get("DB_URL"),
};
const uploaded = await s3Upload({ bucket: "exports", key: "a.csv", body: "id\\n1\\n" });
const seen = { uploaded: uploaded.key, calls: {} };
for (const [name, call] of Object.entries(calls)) {
  try {
    await call();
    seen.calls[name] = { ok: true };
  } catch (e) {
    seen.calls[name] = { name: e.name, code: e.code, message: e.message, base: TributaryError.isInstance(e) };
  }
}
console.log(JSON.stringify(seen));
`;
const IMPORTS =
  "awsSecretsManagerBackend, lambdaInvoke, lambdaList, s3Upload, sfnDescribeExecution, sfnStartExecution, ssmGetParameters, ssmParameterStoreBackend, TributaryError";

describe("@tributary/aws installed without its optional service clients", () => {
  const project = mkdtempSync(join(tmpdir(), "tributary-aws-only-"));
  const installed = installCopies(AWS, project);
  writeFileSync(join(project, "run.mjs"), `import { ${IMPORTS} } from "@tributary/aws";\n${PROGRAM}`);
  writeFileSync(
    join(project, "run.cjs"),
    `const { ${IMPORTS} } = require("@tributary/aws");\n(async () => {${PROGRAM}})();`,
  );
  let s3: S3StandIn;
  let watched: Server;
  let connections = 0;
  beforeAll(async () => {
    s3 = await startS3StandIn({ buckets: ["exports"] });
    watched = createServer((_req, res) => res.writeHead(500).end());
    watched.on("connection", () => connections++);
    await new Promise<void>((done) => watched.listen(0, "127.0.0.1", done));
  });
  afterAll(async () => {
    await s3.close();
    await new Promise((done) => watched.close(done));
    rmSync(project, { recursive: true, force: true });
  });

  it("is a project holding the S3 client and STS, and none of the optional clients", () => {
    expect(installed).toContain("@aws-sdk/client-s3");
    expect(installed).toContain("@aws-sdk/client-sts");
    for (const [pkg] of OPTIONAL) expect(installed).not.toContain(pkg);
  });

  it.each(["run.mjs", "run.cjs"])(
    "%s: S3 works; each task or backend needing a missing client names it and the command, before any network call",
    async (script) => {
      const key = s3.keyPairs[0];
      // Not spawnSync: the stand-in and the watched server answer from this process while the child runs.
      const child = await promisify(execFile)(process.execPath, [script], {
        cwd: project,
        env: {
          PATH: process.env.PATH ?? "",
          TRIBUTARY_HOME: join(project, "home"),
          AWS_REGION: "us-east-1",
          AWS_ENDPOINT_URL_S3: s3.url,
          AWS_EC2_METADATA_DISABLED: "true",
          AWS_CONFIG_FILE: join(project, "aws-config"),
          AWS_SHARED_CREDENTIALS_FILE: join(project, "aws-credentials"),
          TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS: JSON.stringify({
            ACCESS_KEY: key?.accessKeyId,
            SECRET_ACCESS_KEY: key?.secretAccessKey,
          }),
          WATCHED: `http://127.0.0.1:${(watched.address() as AddressInfo).port}`,
        },
        encoding: "utf8",
      });
      const seen = JSON.parse(child.stdout) as {
        uploaded: string;
        calls: Record<string, { name?: string; code?: string; message?: string; base?: boolean }>;
      };
      expect(seen.uploaded).toBe("a.csv");
      for (const [pkg, users] of OPTIONAL) {
        for (const user of users) {
          const error = seen.calls[user];
          expect(error, user).toMatchObject({
            name: "TributaryError",
            code: "DEPENDENCY_MISSING",
            base: true,
          });
          expect(error?.message).toContain(user);
          expect(error?.message).toContain(`needs ${pkg}`);
          expect(error?.message).toContain(`npm install ${pkg}`);
        }
      }
      expect(connections).toBe(0);
    },
  );
});

// Issue 14: time from runDeployment() to the first task starting, for a 1 MiB bundle pulled from the S3 and GCS
// stand-ins (each in its own process), against importing the same module from local disk and running it, in the
// same run. Every cold sample is a new bundle (a new sha256); the next three runs of a deployment are served from the
// in-process cache (only the manifest is read). BENCH_DEPLOY_RUNS sets the deployments per storage (default 7).

import { randomBytes } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { withSecrets } from "@tributary/auth";
import { s3StorageKind } from "@tributary/aws";
import {
  BUNDLE_FILE,
  createManifest,
  type Flow,
  type FlowStorage,
  MANIFEST_FILE,
  runDeployment,
  type StorageKind,
} from "@tributary/flow";
import { gcsStorageKind } from "@tributary/gcp";
import { fmt, median, spawnStandIn } from "./stats.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = join(here, "..");
const testingDist = pathToFileURL(join(root, "packages", "testing", "dist", "index.js")).href;
const quiet = { logger: { sink: () => {} } };

const STAND_INS = `
import { startGoogleStandIn, startS3StandIn } from ${JSON.stringify(testingDist)};
const s3 = await startS3StandIn({ buckets: ["flows"] });
const google = await startGoogleStandIn();
google.createBucket("flows");
const key = await google.createServiceAccount();
process.stdout.write(JSON.stringify({ s3: s3.url, keyPair: s3.keyPairs[0], gcs: google.url, key }) + "\\n");
const stop = async () => { await s3.close(); await google.close(); process.exit(0); };
process.stdin.on("end", stop);
process.stdin.resume();
process.on("SIGTERM", stop);
`;

declare global {
  var __deployBenchFirstTask: number | undefined;
}

const padding = randomBytes(768 * 1024).toString("base64"); // 1 MiB of text

/** A 1 MiB flow module named `name`; its first task records when it started. */
function moduleText(name: string): string {
  return `import { flow, task } from "@tributary/flow";
const first = task({ name: "first" }, async () => { globalThis.__deployBenchFirstTask = performance.now(); });
export const PADDING = ${JSON.stringify(padding)};
export const main = flow({ name: ${JSON.stringify(name)} }, async () => { await first(); });
`;
}

async function deploy(storage: FlowStorage, name: string): Promise<string> {
  const bundle = Buffer.from(moduleText(name));
  const manifest = createManifest({ flow: name, flowSecrets: [], storageSecrets: [], bundle, tributary: {} });
  await storage.save(name, [
    { name: BUNDLE_FILE, bytes: bundle },
    { name: MANIFEST_FILE, bytes: Buffer.from(JSON.stringify(manifest)) },
  ]);
  return storage.address(name);
}

/** ms from `start()` to the first task. */
async function toFirstTask(start: () => Promise<unknown>): Promise<number> {
  globalThis.__deployBenchFirstTask = undefined;
  const t = performance.now();
  await start();
  const first = globalThis.__deployBenchFirstTask;
  if (first === undefined) throw new Error("the first task never started");
  return first - t;
}

export default async function deployBench(): Promise<Record<string, number | string>> {
  const runs = Number(process.env.BENCH_DEPLOY_RUNS ?? 7);
  const local = join(root, "node_modules", ".cache", "tributary-bench");
  await mkdir(local, { recursive: true });
  const standIns = await spawnStandIn<{
    s3: string;
    keyPair: { accessKeyId: string; secretAccessKey: string };
    gcs: string;
    key: object;
  }>(["--input-type=module", "-e", STAND_INS]);
  try {
    const targets: [string, StorageKind, Record<string, unknown>][] = [
      [
        "S3",
        s3StorageKind.configure({ endpoint: standIns.s3, forcePathStyle: true }),
        {
          AWS_CREDENTIALS: {
            ACCESS_KEY: standIns.keyPair.accessKeyId,
            SECRET_ACCESS_KEY: standIns.keyPair.secretAccessKey,
          },
        },
      ],
      ["GCS", gcsStorageKind.configure({ endpoint: standIns.gcs }), { GCP_CREDENTIALS: standIns.key }],
    ];

    // Local disk: the same module imported from a file, then its flow run.
    const localCold: number[] = [];
    const localWarm: number[] = [];
    for (let i = 0; i < runs + 1; i++) {
      const file = join(local, `local-${i}.mjs`);
      await writeFile(file, moduleText(`local-${i}`));
      let flow: Flow | undefined;
      const cold = await toFirstTask(async () => {
        flow = (await import(pathToFileURL(file).href)).main as Flow;
        await flow.run(quiet);
      });
      const warm = await toFirstTask(() => (flow as Flow).run(quiet));
      if (i > 0) {
        localCold.push(cold);
        localWarm.push(warm);
      }
    }
    const figures: Record<string, number | string> = {
      "bundle bytes": Buffer.byteLength(moduleText("x")),
      "local import + run, ms to first task (median)": fmt(median(localCold), "ms"),
      "local second run, ms to first task (median)": fmt(median(localWarm), "ms"),
    };

    for (const [label, kind, secrets] of targets) {
      const storage = kind.fromLocation("flows/bench/");
      const cold: number[] = [];
      const warm: number[] = [];
      for (let i = 0; i < runs + 1; i++) {
        const name = `${label.toLowerCase()}-${i}-${Date.now()}`;
        const address = await withSecrets(secrets, () => deploy(storage, name));
        const options = { kinds: [kind], secrets, root, ...quiet };
        const c = await toFirstTask(() => runDeployment(address, options));
        const w: number[] = [];
        for (let k = 0; k < 3; k++) w.push(await toFirstTask(() => runDeployment(address, options)));
        // The first sample also makes the client and fetches a token: a warm-up, not counted.
        if (i > 0) {
          cold.push(c);
          warm.push(...w);
        }
      }
      figures[`${label}: runDeployment, ms to first task (median)`] = fmt(median(cold), "ms");
      figures[`${label}: more than local import (goal <= 50 ms)`] = fmt(
        median(cold) - median(localCold),
        "ms",
      );
      figures[`${label}: second run, ms to first task (median)`] = fmt(median(warm), "ms");
      figures[`${label}: second run more than local (goal <= 5 ms)`] = fmt(
        median(warm) - median(localWarm),
        "ms",
      );
    }
    return figures;
  } finally {
    standIns.child.stdin?.end();
    await new Promise((resolve) => standIns.child.once("exit", resolve));
    await rm(local, { recursive: true, force: true });
  }
}

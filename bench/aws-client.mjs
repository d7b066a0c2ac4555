// One measured transfer for bench/aws.bench.ts, in its own process so that its peak RSS is its own:
//   node bench/aws-client.mjs <ours|raw|raw-fsync> <upload|download> <json config>
// Prints one JSON line { seconds, warmRssMb, maxRssMb }. Plain JavaScript run by plain Node, as the GCS bench's
// client is: under tsx the workspace's packages (linked from outside node_modules) cost 7–12 MB more at import than
// the SDK's (measured; under plain Node, importing @tributary/aws and the SDK costs what the SDK alone costs).
import { createReadStream, createWriteStream } from "node:fs";
import { open, rm } from "node:fs/promises";
import { pipeline } from "node:stream/promises";

const [side, op, json] = process.argv.slice(2);
/** @type {{ url: string, keyPair: { accessKeyId: string, secretAccessKey: string }, bucket: string, key: string, file: string, warmFile: string, destination: string }} */
const config = JSON.parse(json);
const conn = { endpoint: config.url, forcePathStyle: true, region: "us-east-1", credentials: config.keyPair };
const { bucket } = config;

/** @type {(key: string, file: string, destination: string) => Promise<unknown>} */
let run;
if (side === "ours") {
  const { s3Download, s3Upload } = await import("@tributary/aws");
  run =
    op === "upload"
      ? (key, file) => s3Upload({ ...conn, bucket, key, file })
      : (key, _file, destination) => s3Download({ ...conn, bucket, key, destination });
} else {
  const { S3Client, GetObjectCommand } = await import("@aws-sdk/client-s3");
  const client = new S3Client(conn);
  // lib-storage only for uploads: a download process needs the client alone, as s3Download's loads no more.
  const { Upload } = op === "upload" ? await import("@aws-sdk/lib-storage") : {};
  run =
    op === "upload"
      ? (key, file) =>
          new Upload({ client, params: { Bucket: bucket, Key: key, Body: createReadStream(file) } }).done()
      : async (key, _file, destination) => {
          const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
          await pipeline(out.Body, createWriteStream(destination));
          if (side === "raw-fsync") {
            const handle = await open(destination, "r+");
            await handle.sync();
            await handle.close();
          }
        };
}
// Warm up (modules, client, sockets, JIT) on a small object.
const warmKey = `warm-${side}`;
if (op === "download") {
  // Warm on the small object the first upload run left.
  await run("warm-ours", config.warmFile, `${config.destination}.warm`);
  await rm(`${config.destination}.warm`, { force: true });
} else {
  await run(warmKey, config.warmFile, "");
}
// What the process holds before the measured transfer: its code, the client, the warm-up's leftovers.
const warmRssMb = process.memoryUsage().rss / 1024 / 1024;
const start = performance.now();
await run(config.key, config.file, config.destination);
const seconds = (performance.now() - start) / 1000;
process.stdout.write(
  `${JSON.stringify({ seconds, warmRssMb, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`,
);
process.exit(0);

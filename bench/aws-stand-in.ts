// Starts the S3 stand-in in its own process for bench/aws.bench.ts (so its memory is not counted as the client's),
// prints one JSON line { url, keyPair }, and stops when stdin closes or on SIGTERM.
import { startS3StandIn } from "@tributary/testing";

const s3 = await startS3StandIn({ buckets: ["bench"] });
process.stdout.write(`${JSON.stringify({ url: s3.url, keyPair: s3.keyPairs[0] })}\n`);
const stop = async () => {
  await s3.close();
  process.exit(0);
};
process.stdin.on("end", stop);
process.stdin.resume();
process.on("SIGTERM", stop);

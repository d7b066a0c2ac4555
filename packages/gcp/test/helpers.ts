import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clientCache, configureBackends } from "@tributary/auth";
import {
  type BigQueryStandIn,
  type GoogleStandIn,
  type StandInServiceAccountKey,
  startBigQueryStandIn,
  startGoogleStandIn,
} from "@tributary/testing";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";

/** Variables that would let a test reach real Google credentials or another test's secrets. */
const AMBIENT = [
  "GOOGLE_APPLICATION_CREDENTIALS",
  "GOOGLE_CLOUD_PROJECT",
  "GCLOUD_PROJECT",
  "STORAGE_EMULATOR_HOST",
  "BIGQUERY_EMULATOR_HOST",
  "CLOUDSDK_CONFIG",
];

/**
 * One Google stand-in per test file, with one service account and one bucket; each test gets a fresh TRIBUTARY_HOME,
 * no Tributary or Google variables, no backends, and an empty client cache.
 */
export function useGoogle<G extends GoogleStandIn = GoogleStandIn>(
  start: () => Promise<G> = startGoogleStandIn as () => Promise<G>,
): {
  google: () => G;
  key: () => StandInServiceAccountKey;
  dir: () => string;
  bucket: string;
} {
  let google: G | undefined;
  let key: StandInServiceAccountKey | undefined;
  let dir = "";
  const saved = { ...process.env };
  beforeAll(async () => {
    google = await start();
    key = await google.createServiceAccount();
    google.createBucket("test-bucket");
  });
  afterAll(async () => {
    await google?.close();
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "tributary-gcp-test-"));
    for (const name of Object.keys(process.env)) {
      if (name.startsWith("TRIBUTARY__") || AMBIENT.includes(name)) delete process.env[name];
    }
    process.env.TRIBUTARY_HOME = join(dir, "home");
    mkdirSync(process.env.TRIBUTARY_HOME, { mode: 0o700 });
    // ADC must never find this machine's gcloud login or a metadata server.
    process.env.CLOUDSDK_CONFIG = join(dir, "gcloud");
    process.env.METADATA_SERVER_DETECTION = "none";
    configureBackends([]);
    clientCache.clear();
    google?.reset();
  });
  afterEach(() => {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
    configureBackends([]);
    clientCache.clear();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    google: () => google as G,
    key: () => key as StandInServiceAccountKey,
    dir: () => dir,
    bucket: "test-bucket",
  };
}

/** `useGoogle` with the BigQuery stand-in on the same port, and a `sales` dataset in its project. */
export function useBigQuery(): ReturnType<typeof useGoogle<BigQueryStandIn>> {
  return useGoogle(async () => {
    const bigquery = await startBigQueryStandIn();
    await bigquery.createDataset("sales");
    return bigquery;
  });
}

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BigQuery } from "@google-cloud/bigquery";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BigQueryStandIn, startBigQueryStandIn } from "./bigquery-stand-in.js";
import type { StandInServiceAccountKey } from "./google-stand-in.js";

let bq: BigQueryStandIn;
let key: StandInServiceAccountKey;
let client: BigQuery;

beforeAll(async () => {
  bq = await startBigQueryStandIn({ pageRows: 3 });
  key = await bq.createServiceAccount();
  client = new BigQuery({
    projectId: key.project_id,
    apiEndpoint: bq.url,
    // The official client takes the key file's fields; its token requests go to Google unless pointed here.
    credentials: { client_email: key.client_email, private_key: key.private_key },
    autoRetry: false,
  });
  // google-auth-library posts the JWT grant to Google's token URL whatever the key says: send it to the stand-in.
  const auth = client.authClient as unknown as {
    getClient(): Promise<{ transporter: { interceptors: { request: { add(i: unknown): void } } } }>;
  };
  const jwt = await auth.getClient();
  jwt.transporter.interceptors.request.add({
    resolved: async (config: { url: URL | string }) => {
      if (String(config.url).startsWith("https://oauth2.googleapis.com/token"))
        config.url = new URL(bq.tokenUrl);
      return config;
    },
  });
});

afterAll(async () => {
  await bq?.close();
});

describe("BigQuery stand-in, driven by the official @google-cloud/bigquery client", () => {
  it("creates a dataset and a table, streams rows in, and queries them with parameters, page by page", async () => {
    const [dataset] = await client.createDataset("sales");
    const [table] = await dataset.createTable("orders", {
      schema: {
        fields: [
          { name: "id", type: "INTEGER", mode: "REQUIRED" },
          { name: "region", type: "STRING" },
          { name: "amount", type: "FLOAT" },
          { name: "placed_at", type: "TIMESTAMP" },
          { name: "tags", type: "STRING", mode: "REPEATED" },
        ],
      },
    });
    await table.insert([
      { id: 1, region: "eu", amount: 10.5, placed_at: "2026-01-01T10:00:00Z", tags: ["a"] },
      { id: 2, region: "eu", amount: 4.5, placed_at: "2026-01-02T10:00:00Z", tags: [] },
      { id: 3, region: "us", amount: 7, placed_at: "2026-01-03T10:00:00Z", tags: ["b", "c"] },
      { id: 4, region: "us", amount: 1, placed_at: "2026-01-04T10:00:00Z", tags: [] },
      { id: 5, region: "apac", amount: 2, placed_at: "2026-01-05T10:00:00Z", tags: [] },
    ]);
    const [rows] = await client.query({
      query:
        "SELECT id, region, placed_at, tags FROM `tributary-test.sales.orders` WHERE amount > @min ORDER BY id",
      params: { min: 1.5 },
    });
    expect(rows.map((r) => r.id)).toEqual([1, 2, 3, 5]);
    expect(rows[0].placed_at.value).toBe("2026-01-01T10:00:00.000Z");
    expect(rows[2].tags).toEqual(["b", "c"]);

    // Pages of 3 rows (the stand-in's pageRows): the client follows pageToken to the end.
    const [job] = await client.createQueryJob({
      query: "SELECT region, SUM(amount) AS total FROM sales.orders GROUP BY region ORDER BY region",
    });
    const [first, next] = await job.getQueryResults({ maxResults: 2, autoPaginate: false });
    expect(first).toEqual([
      { region: "apac", total: 2 },
      { region: "eu", total: 15 },
    ]);
    expect(next?.pageToken).toBeDefined();
    const [all] = await job.getQueryResults();
    expect(all).toHaveLength(3);
    expect(bq.jobs.at(-1)?.state).toBe("DONE");
  });

  it("lists table data and loads a file through the official client's multipart upload", async () => {
    const table = client.dataset("sales").table("orders");
    const [listed] = await table.getRows({ maxResults: 2 });
    expect(listed.map((r) => r.id)).toEqual([1, 2]);
    const dir = await mkdtemp(join(tmpdir(), "bq-load-"));
    const file = join(dir, "more.csv");
    await writeFile(file, "6,eu,3.5,2026-01-06 10:00:00+00,\n");
    const [job] = await table
      .load(file, { sourceFormat: "CSV" })
      .finally(() => rm(dir, { recursive: true, force: true }));
    expect(job.status?.state).toBe("DONE");
    expect(job.statistics?.load?.outputRows).toBe("1");
    expect(await bq.query("SELECT count(*) AS n FROM sales.orders")).toEqual([{ n: 6n }]);
    expect(
      bq.requests.some(
        (r) => r.path.startsWith("/upload/bigquery/v2/") && r.query.uploadType === "multipart",
      ),
    ).toBe(true);
  });

  it("translates the BigQuery SQL a flow commonly needs", async () => {
    const [rows] = await client.query({
      query: `SELECT STRUCT(1 AS a, 'x' AS b) AS s, [1, 2, 3] AS arr, SAFE_CAST('x' AS INT64) AS bad,
        TIMESTAMP_TRUNC(TIMESTAMP '2026-05-04 10:11:12+00', DAY) AS day,
        DATE_SUB(DATE '2026-05-04', INTERVAL 3 DAY) AS before,
        CURRENT_TIMESTAMP() IS NOT NULL AS now_ok, @names AS names`,
      params: { names: ["p", "q"] },
    });
    expect(rows[0]).toMatchObject({
      s: { a: 1, b: "x" },
      arr: [1, 2, 3],
      bad: null,
      now_ok: true,
      names: ["p", "q"],
    });
    expect(rows[0].day.value).toBe("2026-05-04T00:00:00.000Z");
    expect(rows[0].before.value).toBe("2026-05-01");
  });

  it("refuses what it cannot run with BigQuery's invalidQuery, naming line and column", async () => {
    const failures = await Promise.all(
      ["SELECT 1\nFORM x", "SELECT ML.PREDICT_ANYTHING(1)", "SELECT * FROM sales.nothing"].map((query) =>
        client.query({ query }).then(
          () => undefined,
          (error: { errors?: { reason: string; message: string }[] }) => error.errors?.[0],
        ),
      ),
    );
    expect(failures[0]).toMatchObject({
      reason: "invalidQuery",
      message: expect.stringContaining('Unexpected "x" at [2:6]'),
    });
    expect(failures[1]).toMatchObject({
      reason: "invalidQuery",
      message: expect.stringContaining("stand-in"),
    });
    expect(failures[2]).toMatchObject({
      reason: "notFound",
      message: expect.stringContaining("sales.nothing"),
    });
  });

  it("refuses a request without a valid token", async () => {
    const response = await fetch(`${bq.url}/bigquery/v2/projects/tributary-test/datasets/sales`);
    expect(response.status).toBe(401);
  });
});

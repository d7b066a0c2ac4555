import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gunzipSync } from "node:zlib";
import { CredentialRejectedError, localStore, ServiceError, ValidationError } from "@tributary/auth";
import { flow, task } from "@tributary/flow";
import { failureOutputs, findSecretTraces, startGoogleStandIn } from "@tributary/testing";
import { describe, expect, it, vi } from "vitest";
import { useBigQuery } from "../test/helpers.js";
import {
  bigqueryCreateTable,
  bigqueryDeleteTable,
  bigqueryExtract,
  bigqueryInsertRows,
  bigqueryLoad,
  bigqueryQuery,
  bigqueryTableExists,
} from "./index.js";

const env = useBigQuery();
const at = () => ({ credentials: env.key(), endpoint: env.google().url });
const jobRequests = () => env.google().requests.filter((r) => /\/(jobs|queries)/.test(r.path));

let tableCounter = 0;
/** A fresh table `sales.t<n>` with an id, a region and an amount, holding `rows`. */
async function ordersTable(rows: Record<string, unknown>[] = []): Promise<string> {
  const table = `sales.t${++tableCounter}`;
  await bigqueryCreateTable({
    ...at(),
    table,
    schema: [
      { name: "id", type: "INT64", mode: "REQUIRED" },
      { name: "region", type: "STRING" },
      { name: "amount", type: "FLOAT64" },
    ],
  });
  if (rows.length > 0) await bigqueryInsertRows({ ...at(), table, rows });
  return table;
}

describe("bigqueryQuery", () => {
  it("sends named parameters typed from JS values and converts rows by the schema", async () => {
    const { rows, schema, totalRows, jobId } = await bigqueryQuery({
      ...at(),
      query: `SELECT @s AS s, @i AS i, @f AS f, @big AS big, @b AS b, @d AS d, @bytes AS bytes, @arr AS arr,
        @rec AS rec, CAST(@n AS NUMERIC) AS n, DATE '2026-11-26' AS day, @nothing AS nothing`,
      params: {
        s: "it's",
        i: 42,
        f: 1.5,
        big: 9007199254740993n,
        b: true,
        d: new Date("2026-11-26T10:00:00.123Z"),
        bytes: Buffer.from([0, 1, 255]),
        arr: [1, 2, 3],
        rec: { name: "x", n: 2 },
        n: "12.5",
        nothing: null,
      },
      types: { nothing: "STRING" },
    });
    expect(rows).toEqual([
      {
        s: "it's",
        i: 42n,
        f: 1.5,
        big: 9007199254740993n,
        b: true,
        d: new Date("2026-11-26T10:00:00.123Z"),
        bytes: Buffer.from([0, 1, 255]),
        arr: [1n, 2n, 3n],
        rec: { name: "x", n: 2n },
        n: "12.500000000",
        day: "2026-11-26",
        nothing: null,
      },
    ]);
    expect(schema.map((f) => f.type)).toEqual([
      "STRING",
      "INTEGER",
      "FLOAT",
      "INTEGER",
      "BOOLEAN",
      "TIMESTAMP",
      "BYTES",
      "INTEGER",
      "RECORD",
      "NUMERIC",
      "DATE",
      "STRING",
    ]);
    expect(totalRows).toBe(1);
    expect(jobId).toMatch(/^tributary_/);
    // The job id was made here, so a retried insert is idempotent.
    expect(env.google().jobs.at(-1)?.jobId).toBe(jobId);
  });

  it.each([
    ["a null without a type", { params: { x: null } }, "params.x"],
    ["an empty array without a type", { params: { x: [] } }, "params.x"],
    ["an unknown type", { params: { x: 1 }, types: { x: "INTEGRAL" } }, "types.x"],
    ["a type for no parameter", { params: {}, types: { y: "STRING" } }, "types.y"],
    ["an empty query", { query: " " }, "query"],
    ["a bad page size", { pageSize: 0 }, "pageSize"],
    ["an upper-case label", { labels: { Team: "x" } }, "labels.Team"],
    ["a bad destination", { destination: "no-dataset" }, "destination"],
  ])("refuses %s before any request", async (_, given, option) => {
    const error = await bigqueryQuery({ ...at(), query: "SELECT @x AS x", ...given }).catch((e) => e);
    expect(ValidationError.isInstance(error), String(error)).toBe(true);
    expect(error.option).toBe(option);
    expect(jobRequests()).toEqual([]);
  });

  it("follows every page, stops at limit, streams, and gives INT64 as number on request", async () => {
    const table = await ordersTable(
      Array.from({ length: 7 }, (_, i) => ({ id: i + 1, region: i % 2 ? "eu" : "us", amount: i })),
    );
    const query = `SELECT id, amount FROM \`${env.google().projectId}.${table}\` ORDER BY id`;
    const all = await bigqueryQuery({ ...at(), query, pageSize: 2 });
    expect(all.rows.map((r) => r.id)).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n]);
    const pages = env.google().requests.filter((r) => r.path.includes(`/queries/${all.jobId}`));
    expect(pages.map((r) => r.query.pageToken ?? "")).toEqual(["", "2", "4", "6"]);

    const limited = await bigqueryQuery({ ...at(), query, pageSize: 2, limit: 3, int64: "number" });
    expect(limited.rows.map((r) => r.id)).toEqual([1, 2, 3]);
    expect(limited.totalRows).toBe(7);

    const streamed = await bigqueryQuery({ ...at(), query, pageSize: 3, as: "stream" });
    const ids: unknown[] = [];
    for await (const row of streamed.rows) ids.push(row.id);
    expect(ids).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n]);
    expect(streamed.schema.map((f) => f.name)).toEqual(["id", "amount"]);
  });

  it("dryRun returns the bytes it would process and runs nothing", async () => {
    const table = await ordersTable([{ id: 1, region: "eu", amount: 1 }]);
    const before = env.google().jobs.length;
    const result = await bigqueryQuery({ ...at(), query: `SELECT * FROM ${table}`, dryRun: true });
    expect(result).toMatchObject({ rows: [], totalRows: 0, jobId: undefined });
    expect(result.bytesProcessed).toBeGreaterThan(0);
    expect(result.schema.map((f) => f.name)).toEqual(["id", "region", "amount"]);
    expect(env.google().jobs.length).toBe(before);
  });

  it("writes the result to a destination table", async () => {
    const table = await ordersTable([{ id: 1, region: "eu", amount: 3 }]);
    const destination = `sales.summary${tableCounter}`;
    await bigqueryQuery({
      ...at(),
      query: `SELECT region, SUM(amount) AS total FROM ${table} GROUP BY region`,
      destination,
    });
    const { rows } = await bigqueryQuery({ ...at(), query: `SELECT * FROM ${destination}` });
    expect(rows).toEqual([{ region: "eu", total: 3 }]);
  });

  it("a failed job is a ServiceError with BigQuery's reason, pointing at the query's line and column", async () => {
    const error = await bigqueryQuery({
      ...at(),
      query: "SELECT 1\nFROM sales.nowhere, (SELECT 1 FORM x)",
    }).catch((e) => e);
    expect(ServiceError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: "NOT_FOUND", reason: "notFound", retryable: false });
    const syntax = await bigqueryQuery({ ...at(), query: "SELECT 1,\n  2 FORM x" }).catch((e) => e);
    expect(syntax).toMatchObject({ code: "BAD_REQUEST", reason: "invalidQuery" });
    expect(syntax.message).toContain("line 2, column 10 of the query");
  });

  it.each([
    ["backendError", 2, "completed"],
    ["rateLimitExceeded", 1, "completed"],
    ["accessDenied", 1, "ACCESS_DENIED"],
    ["quotaExceeded", 1, "THROTTLED"],
  ])(
    "a job failing with %s is retried as a new job only when BigQuery says so",
    async (reason, times, outcome) => {
      env.google().failJobs(times, { reason });
      const before = env.google().jobs.length;
      const result = await bigqueryQuery({ ...at(), query: "SELECT 1 AS one" }).catch((e) => e);
      if (outcome === "completed") {
        expect(result.rows).toEqual([{ one: 1n }]);
        expect(env.google().jobs.length - before).toBe(times + 1);
      } else {
        expect(result).toMatchObject({ code: outcome, reason });
        expect(env.google().jobs.length - before).toBe(1);
      }
    },
  );

  it("a job insert whose answer was lost is retried with the same job id: one job runs", async () => {
    const before = env.google().jobs.length;
    env
      .google()
      .resetNext(1, { afterBytes: 1, match: (r) => r.method === "POST" && r.path.endsWith("/jobs") });
    const { rows, jobId } = await bigqueryQuery({ ...at(), query: "SELECT 5 AS five" });
    expect(rows).toEqual([{ five: 5n }]);
    const inserts = env.google().requests.filter((r) => r.method === "POST" && r.path.endsWith("/jobs"));
    expect(inserts.map((r) => r.status)).toEqual([0, 409]);
    expect(
      env
        .google()
        .jobs.slice(before)
        .map((j) => j.jobId),
    ).toEqual([jobId]);
  });

  it("retries a 503 on getQueryResults", async () => {
    env.google().failNext(2, 503, { match: (r) => r.path.includes("/queries/") });
    const { rows } = await bigqueryQuery({ ...at(), query: "SELECT 'x' AS x" });
    expect(rows).toEqual([{ x: "x" }]);
    expect(
      env
        .google()
        .requests.filter((r) => r.path.includes("/queries/"))
        .map((r) => r.status),
    ).toEqual([503, 503, 200]);
  });

  it("a query cancelled by its task's timeout cancels its job (jobs.cancel)", async () => {
    env.google().holdJobs(60_000);
    try {
      const report = task({ name: "report", timeoutMs: 300 }, () =>
        bigqueryQuery({ ...at(), query: "SELECT 1 AS one" }),
      );
      const error = await report().catch((e) => e);
      expect(error?.name).toBe("TaskTimeoutError");
      const job = env.google().jobs.at(-1);
      await vi.waitFor(() => expect(env.google().cancelRequests).toContain(job?.jobId));
      expect(env.google().jobs.at(-1)).toMatchObject({ cancelled: true, state: "DONE" });
    } finally {
      env.google().holdJobs(0);
    }
  });
});

describe("credentials", () => {
  it.each([
    ["run values", "run", async (key: object) => ({ GCP_CREDENTIALS: key })],
    [
      "the environment",
      "env",
      async (key: object) => {
        process.env.TRIBUTARY__CONTEXT__SECRETS__GCP_CREDENTIALS = JSON.stringify(key);
        return {};
      },
    ],
    [
      "the local store",
      "store",
      async (key: object) => {
        await localStore().set("GCP_CREDENTIALS", key as never);
        return {};
      },
    ],
  ])("every BigQuery task finds GCP_CREDENTIALS in %s", async (_, kind, setup) => {
    const lines: string[] = [];
    const secrets = await setup(env.key());
    const endpoint = env.google().url;
    const table = `sales.creds_${kind}`;
    env.google().createBucket("creds");
    const etl = flow({ name: "bq", logger: { sink: (line) => lines.push(line) } }, async () => {
      await bigqueryCreateTable({ endpoint, table, schema: [{ name: "n", type: "INT64" }] });
      await bigqueryInsertRows({ endpoint, table, rows: [{ n: 1 }] });
      await bigqueryLoad({ endpoint, table, body: "2\n", format: "csv" });
      await bigqueryExtract({ endpoint, table, to: `gs://creds/${kind}.csv` });
      const exists = await bigqueryTableExists({ endpoint, table });
      const { rows } = await bigqueryQuery({ endpoint, query: `SELECT SUM(n) AS total FROM ${table}` });
      await bigqueryDeleteTable({ endpoint, table, mustExist: true });
      return { exists, rows };
    });
    const report = await etl.run({ secrets });
    expect(report.state, JSON.stringify(report.error)).toBe("completed");
    expect(report.result).toEqual({ exists: true, rows: [{ total: 3n }] });
    expect(lines.join("\n")).toContain(`GCP_CREDENTIALS from ${kind}`);
  });

  it.each([
    {
      refused: "the token grant",
      status: 400,
      times: 1,
      match: (path: string) => path === "/token",
      body: { error: "invalid_grant", error_description: "Invalid JWT Signature." },
      service: "Google OAuth",
    },
    {
      refused: "the BigQuery call",
      status: 401,
      // The token is refreshed and the call retried after a 401.
      times: 3,
      match: (path: string) => path.includes("/bigquery/v2/"),
      body: {
        error: {
          code: 401,
          message: "Invalid Credentials",
          status: "UNAUTHENTICATED",
          errors: [{ reason: "authError" }],
        },
      },
      service: "BigQuery",
    },
  ])(
    "when $refused is refused: a CredentialRejectedError naming the source, no key material in any output",
    async ({ status, times, match, body, service }) => {
      const key = env.key();
      env.google().failNext(times, status, { echo: true, body, match: (r) => match(r.path) });
      const outputs = await failureOutputs(
        (run, sink) =>
          flow({ name: "leak", logger: { level: "debug", sink } }, run).run({
            secrets: { GCP_CREDENTIALS: key },
          }),
        () => bigqueryQuery({ endpoint: env.google().url, query: "SELECT 1" }),
      );
      const shown = outputs["inspect(error, { depth: Infinity })"];
      expect(shown).toContain("CredentialRejectedError");
      expect(shown).toContain(service);
      expect(shown).toContain("rejected the credential from run");
      const secrets: Record<string, string> = { private_key: key.private_key };
      for (const request of env.google().requests) {
        const bearer = /^Bearer (.+)$/.exec(String(request.headers.authorization ?? ""))?.[1];
        if (bearer) secrets[`access token ${request.path}`] = bearer;
      }
      expect(findSecretTraces(outputs, secrets)).toEqual([]);
    },
  );

  it("a key the stand-in does not know is a CredentialRejectedError naming the argument", async () => {
    const stranger = await startGoogleStandIn();
    try {
      const key = { ...(await stranger.createServiceAccount()), token_uri: env.google().tokenUrl };
      const error = await bigqueryQuery({
        credentials: key,
        endpoint: env.google().url,
        query: "SELECT 1",
      }).catch((e) => e);
      expect(CredentialRejectedError.isInstance(error)).toBe(true);
      expect(error.source).toMatchObject({ kind: "argument" });
    } finally {
      await stranger.close();
    }
  });

  it("takes the endpoint from BIGQUERY_EMULATOR_HOST, as the official client reads it", async () => {
    process.env.BIGQUERY_EMULATOR_HOST = env.google().url;
    const { rows } = await bigqueryQuery({ credentials: env.key(), query: "SELECT 3 AS three" });
    expect(rows).toEqual([{ three: 3n }]);
    expect(env.google().requests.some((r) => r.path.startsWith(`/projects/${env.google().projectId}/`))).toBe(
      true,
    );
  });

  it("with leastPrivilege says once per run that BigQuery cannot be scoped, and runs", async () => {
    const lines: string[] = [];
    const etl = flow(
      { name: "bq-lp", leastPrivilege: true, logger: { sink: (line) => lines.push(line) } },
      async () => {
        await bigqueryQuery({ ...at(), query: "SELECT 1 AS one" });
        await bigqueryTableExists({ ...at(), table: "sales.none" });
      },
    );
    const report = await etl.run();
    expect(report.state, JSON.stringify(report.error)).toBe("completed");
    expect(lines.filter((l) => l.includes("cannot be scoped"))).toHaveLength(1);
  });
});

describe("tables", () => {
  it("creates, tells, and deletes tables, idempotently", async () => {
    const table = `sales.events${++tableCounter}`;
    const schema = [
      { name: "at", type: "TIMESTAMP", mode: "REQUIRED" as const },
      { name: "kind", type: "STRING" },
    ];
    expect(await bigqueryTableExists({ ...at(), table })).toBe(false);
    const created = await bigqueryCreateTable({
      ...at(),
      table,
      schema,
      partitioning: { field: "at" },
      clustering: ["kind"],
    });
    expect(created).toEqual({ table: `${env.google().projectId}.${table}`, created: true });
    expect(await bigqueryTableExists({ ...at(), table })).toBe(true);
    const again = await bigqueryCreateTable({ ...at(), table, schema }).catch((e) => e);
    expect(again).toMatchObject({ code: "CONFLICT", reason: "duplicate" });
    expect(await bigqueryCreateTable({ ...at(), table, schema, ifNotExists: true })).toMatchObject({
      created: false,
    });
    expect(await bigqueryDeleteTable({ ...at(), table })).toMatchObject({ deleted: true });
    expect(await bigqueryDeleteTable({ ...at(), table })).toMatchObject({ deleted: false });
    const missing = await bigqueryDeleteTable({ ...at(), table, mustExist: true }).catch((e) => e);
    expect(missing).toMatchObject({ code: "NOT_FOUND", reason: "notFound" });
  });

  it.each([
    ["one part", "orders"],
    ["four parts", "a.b.c.d"],
    ["a bad dataset", "my-project.sa-les.orders"],
    ["a bad project", "My_Project.sales.orders"],
    ["an empty table", "sales."],
  ])("refuses a table name with %s before any request", async (_, table) => {
    for (const call of [
      () => bigqueryTableExists({ ...at(), table }),
      () => bigqueryDeleteTable({ ...at(), table }),
      () => bigqueryInsertRows({ ...at(), table, rows: [{ a: 1 }] }),
      () => bigqueryLoad({ ...at(), table, from: "gs://landing/x.csv" }),
    ]) {
      const error = await call().catch((e) => e);
      expect(ValidationError.isInstance(error), String(error)).toBe(true);
      expect(error.option).toBe("table");
    }
    expect(env.google().requests).toEqual([]);
  });
});

describe("bigqueryInsertRows", () => {
  it("returns the rows BigQuery refused as data, and inserts the rest with skipInvalidRows", async () => {
    const table = await ordersTable();
    const rows = [
      { id: 1, region: "eu", amount: 1 },
      { id: "two", region: "eu", amount: 2 },
      { id: 3, region: "us", amount: 3, colour: "red" },
      { id: 4, region: "us", amount: 4 },
    ];
    const strict = await bigqueryInsertRows({ ...at(), table, rows });
    expect(strict.inserted).toBe(0);
    expect(strict.failed.map((f) => [f.index, f.reason])).toEqual([
      [0, "stopped"],
      [1, "invalid"],
      [2, "invalid"],
      [3, "stopped"],
    ]);
    const lenient = await bigqueryInsertRows({
      ...at(),
      table,
      rows,
      skipInvalidRows: true,
      ignoreUnknownValues: true,
    });
    expect(lenient).toEqual({
      inserted: 3,
      failed: [{ index: 1, reason: "invalid", message: expect.stringContaining("id") }],
    });
    const { rows: stored } = await bigqueryQuery({
      ...at(),
      query: `SELECT id FROM ${table} ORDER BY id`,
      int64: "number",
    });
    expect(stored).toEqual([{ id: 1 }, { id: 3 }, { id: 4 }]);
  });

  it("sends batches under BigQuery's limits, and a retried call inserts nothing twice", async () => {
    const table = await ordersTable();
    const rows = Array.from({ length: 1_200 }, (_, i) => ({ id: i, region: "eu", amount: i / 2 }));
    // The first answer is lost after BigQuery took the rows: the batch is sent again with the same insertIds.
    env.google().resetNext(1, { afterBytes: 1, match: (r) => r.path.endsWith("/insertAll") });
    expect(await bigqueryInsertRows({ ...at(), table, rows })).toEqual({ inserted: 1_200, failed: [] });
    await bigqueryInsertRows({ ...at(), table, rows: rows.slice(0, 10) });
    const batches = env.google().requests.filter((r) => r.path.endsWith("/insertAll"));
    expect(batches.length).toBe(5);
    const { rows: count } = await bigqueryQuery({ ...at(), query: `SELECT COUNT(*) AS n FROM ${table}` });
    expect(count).toEqual([{ n: 1_200n }]);
  });

  it("a refused request throws", async () => {
    const error = await bigqueryInsertRows({ ...at(), table: "sales.nowhere", rows: [{ id: 1 }] }).catch(
      (e) => e,
    );
    expect(error).toMatchObject({ code: "NOT_FOUND", reason: "notFound" });
  });
});

describe("bigqueryLoad and bigqueryExtract", () => {
  const csv = "id,region,amount\n1,eu,2.5\n2,us,4\n";

  it.each([
    [
      "Cloud Storage objects (a wildcard)",
      async () => {
        env.google().createBucket("landing");
        await env.google().putObject("landing", "orders/a.csv", csv);
        await env.google().putObject("landing", "orders/b.csv", "id,region,amount\n3,apac,1\n");
        return { from: "gs://landing/orders/*.csv" };
      },
      3,
    ],
    [
      "a file",
      async () => {
        const file = join(env.dir(), "orders.csv");
        writeFileSync(file, csv);
        return { file };
      },
      2,
    ],
    ["a stream (a resumable upload)", async () => ({ body: Readable.from([Buffer.from(csv)]) }), 2],
  ])("loads %s", async (_, source, expected) => {
    const table = `sales.loaded${++tableCounter}`;
    const result = await bigqueryLoad({
      ...at(),
      table,
      ...(await source()),
      format: "csv",
      skipLeadingRows: 1,
      autodetect: true,
    });
    expect(result).toMatchObject({ table: `${env.google().projectId}.${table}`, rows: expected });
    const { rows } = await bigqueryQuery({
      ...at(),
      query: `SELECT COUNT(*) AS n FROM ${table}`,
      int64: "number",
    });
    expect(rows).toEqual([{ n: expected }]);
  });

  it("sends the upload as a resumable session", async () => {
    await bigqueryLoad({
      ...at(),
      table: `sales.up${++tableCounter}`,
      body: Buffer.from('{"id": 1}\n{"id": 2}\n'),
      format: "json",
      schema: [{ name: "id", type: "INT64" }],
    });
    const uploads = env.google().requests.filter((r) => r.path.startsWith("/upload/bigquery/"));
    expect(uploads.map((r) => [r.method, r.query.uploadType])).toEqual([
      ["POST", "resumable"],
      ["PUT", "resumable"],
    ]);
  });

  it.each([
    ["two sources", { from: "gs://landing/a.csv", body: "x" }, "from/file/body"],
    ["no source", {}, "from/file/body"],
    ["an upper-case format", { from: "gs://landing/a.csv", format: "CSV" }, "format"],
    ["a bad URI", { from: "s3://landing/a.csv" }, "from"],
  ])("refuses %s before any request", async (_, given, option) => {
    const error = await bigqueryLoad({ ...at(), table: "sales.x", ...(given as object) }).catch((e) => e);
    expect(ValidationError.isInstance(error), String(error)).toBe(true);
    expect(error.option).toBe(option);
    expect(jobRequests()).toEqual([]);
  });

  it("extracts a table to Cloud Storage, compressed", async () => {
    const table = await ordersTable([{ id: 1, region: "eu", amount: 2.5 }]);
    env.google().createBucket("exports");
    const result = await bigqueryExtract({
      ...at(),
      table,
      to: "gs://exports/orders-*.csv.gz",
      format: "csv",
      compression: "gzip",
    });
    expect(result).toMatchObject({ to: ["gs://exports/orders-*.csv.gz"], files: [1] });
    const data = await env.google().readObject("exports", "orders-000000000000.csv.gz");
    expect(gunzipSync(data as Buffer).toString("utf8")).toBe("id,region,amount\n1,eu,2.5\n");
    const wrong = await bigqueryExtract({
      ...at(),
      table,
      to: "gs://exports/o.csv",
      compression: "snappy",
    }).catch((e) => e);
    expect(wrong).toMatchObject({ option: "compression" });
  });
});

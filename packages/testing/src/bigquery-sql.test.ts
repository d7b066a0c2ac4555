import { describe, expect, it } from "vitest";
import { StandInQueryError, translateQuery } from "./bigquery-sql.js";

describe("translateQuery: BigQuery standard SQL → DuckDB", () => {
  it.each([
    [
      "a backticked project.dataset.table",
      "SELECT * FROM `acme.sales.orders`",
      'SELECT * FROM "acme.sales"."orders"',
    ],
    ["backticked parts", "SELECT * FROM `acme`.`sales`.`orders`", 'SELECT * FROM "acme.sales"."orders"'],
    [
      "dataset.table in the default project",
      "SELECT a FROM sales.orders o JOIN sales.regions r ON o.r = r.id",
      'SELECT a FROM "p.sales"."orders" o JOIN "p.sales"."regions" r ON o.r = r.id',
    ],
    ["a double-quoted string", 'SELECT "it\'s" AS s', "SELECT 'it''s' AS s"],
    ["@ inside a string, left alone", "SELECT '@day' AS s", "SELECT '@day' AS s"],
    ["comments dropped", "SELECT 1 -- one\n# two\n", "SELECT 1 \n\n"],
    ["SAFE_CAST with a BigQuery type", "SELECT SAFE_CAST(x AS INT64)", "SELECT TRY_CAST(x AS BIGINT)"],
    [
      "an alias named like a type, kept",
      "SELECT b AS bytes, n AS numeric",
      "SELECT b AS bytes, n AS numeric",
    ],
    [
      "a TIMESTAMP literal",
      "SELECT TIMESTAMP '2026-01-01 00:00:00+00'",
      "SELECT TIMESTAMPTZ '2026-01-01 00:00:00+00'",
    ],
    ["CURRENT_TIMESTAMP()", "SELECT CURRENT_TIMESTAMP()", "SELECT current_timestamp"],
    [
      "TIMESTAMP_TRUNC",
      "SELECT TIMESTAMP_TRUNC(t, HOUR)",
      "SELECT CAST(date_trunc('hour', t) AS TIMESTAMPTZ)",
    ],
    ["DATE_SUB", "SELECT DATE_SUB(d, INTERVAL 2 DAY)", "SELECT CAST((d) - INTERVAL 2 DAY AS DATE)"],
    ["STRUCT with names", "SELECT STRUCT(1 AS a, 'x' AS b)", 'SELECT struct_pack("a" := 1, "b" := \'x\')'],
    ["a typed ARRAY literal", "SELECT ARRAY<INT64>[1, 2]", "SELECT [1, 2]"],
    [
      "a DDL statement's types",
      "CREATE TABLE sales.t (id INT64, amount FLOAT64)",
      'CREATE TABLE "p.sales"."t" (id BIGINT, amount DOUBLE)',
    ],
  ])("%s", (_, query, expected) => {
    expect(translateQuery(query, "p").sql).toBe(expected);
  });

  it("writes named parameters in as typed literals, and lists the tables read", () => {
    const { sql, tables } = translateQuery(
      "SELECT * FROM sales.orders WHERE day = @Day AND tags = @tags",
      "p",
      [
        { name: "day", parameterType: { type: "DATE" }, parameterValue: { value: "2026-11-26" } },
        {
          name: "tags",
          parameterType: { type: "ARRAY", arrayType: { type: "STRING" } },
          parameterValue: { arrayValues: [{ value: "a'b" }] },
        },
      ],
    );
    expect(sql).toBe(
      `SELECT * FROM "p.sales"."orders" WHERE day = CAST('2026-11-26' AS DATE) AND tags = CAST([CAST('a''b' AS VARCHAR)] AS VARCHAR[])`,
    );
    expect(tables).toEqual(["p.sales.orders"]);
  });

  it.each([
    ["an unknown parameter", "SELECT @nope", "Query parameter 'nope' not found at [1:8]"],
    ["an unclosed string", "SELECT\n  'abc", "Unclosed string literal at [2:3]"],
    ["a typed STRUCT literal", "SELECT STRUCT<a INT64>(1)", "does not support typed STRUCT"],
    ["a table name without a dataset", "SELECT * FROM `orders`", "missing dataset"],
  ])("refuses %s with invalidQuery and where it is", (_, query, message) => {
    let error: unknown;
    try {
      translateQuery(query, "p");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StandInQueryError);
    expect((error as StandInQueryError).reason).toBe("invalidQuery");
    expect((error as Error).message).toContain(message);
  });
});

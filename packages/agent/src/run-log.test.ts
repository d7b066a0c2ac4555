import { describe, expect, it } from "vitest";
import { cutNote, provenanceOf, RunLog } from "./run-log.js";

const agentNames = new Set(["SLACK_WEBHOOK_URL", "AWS_CREDENTIALS"]);
const TIME = "2026-12-08T01:00:00.123Z";

describe("provenanceOf: the credential table's rows, from the provenance lines flows and integrations log", () => {
  it.each([
    {
      what: "an -e secret in a child run (env var set by the agent)",
      line: `${TIME} INFO  SLACK_WEBHOOK_URL from env (TRIBUTARY__CONTEXT__SECRETS__SLACK_WEBHOOK_URL) flow=nightly runId=r1 task=notify attempt=1`,
      row: { name: "SLACK_WEBHOOK_URL", source: "agent", detail: "-e SLACK_WEBHOOK_URL" },
    },
    {
      what: "an -e secret in an in-process run (a run value)",
      line: `${TIME} INFO  AWS_CREDENTIALS from run (run r1) flow=nightly runId=r1`,
      row: { name: "AWS_CREDENTIALS", source: "agent", detail: "-e AWS_CREDENTIALS" },
    },
    {
      what: "an env var the agent did not pass (a nested field form)",
      line: `${TIME} INFO  GITHUB_ACCESS_TOKEN from env (TRIBUTARY__CONTEXT__SECRETS__GITHUB_ACCESS_TOKEN) runId=r1`,
      row: {
        name: "GITHUB_ACCESS_TOKEN",
        source: "env",
        detail: "TRIBUTARY__CONTEXT__SECRETS__GITHUB_ACCESS_TOKEN",
      },
    },
    {
      what: "a backend",
      line: `${TIME} INFO  GCP_CREDENTIALS from backend (gcp-secret-manager projects/p/secrets/GCP_CREDENTIALS) flow=etl runId=r1`,
      row: {
        name: "GCP_CREDENTIALS",
        source: "backend",
        detail: "gcp-secret-manager projects/p/secrets/GCP_CREDENTIALS",
      },
    },
    {
      what: "the local store, with what kind of credential it is",
      line: `${TIME} INFO  GCP_CREDENTIALS from store (/home/u/.config/tributary/secrets.json): service account etl@p.iam.gserviceaccount.com flow=etl runId=r1`,
      row: {
        name: "GCP_CREDENTIALS",
        source: "store",
        detail: "/home/u/.config/tributary/secrets.json",
        principal: "service account etl@p.iam.gserviceaccount.com",
      },
    },
    {
      what: "an S3 scope inside the detail (aws, gcs), and the principal",
      line: `${TIME} INFO  AWS_CREDENTIALS from env (TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS, scoped to s3:GetObject on exports/2026/a.csv): web identity, role arn:aws:iam::123456789012:role/etl task=s3Exists attempt=1`,
      row: {
        name: "AWS_CREDENTIALS",
        source: "agent",
        detail: "-e AWS_CREDENTIALS",
        scope: "s3:GetObject on exports/2026/a.csv",
        principal: "web identity, role arn:aws:iam::123456789012:role/etl",
      },
    },
    {
      what: "a GitHub App scope after the detail",
      line: `${TIME} INFO  GITHUB_APP_CREDENTIALS from backend (directory /run/secrets), scoped to acme/site with contents:read, issues:write task="open issue" attempt=1`,
      row: {
        name: "GITHUB_APP_CREDENTIALS",
        source: "backend",
        detail: "directory /run/secrets",
        scope: "acme/site with contents:read, issues:write",
      },
    },
    {
      what: "a JSON log line",
      line: JSON.stringify({
        time: TIME,
        level: "info",
        msg: "GCP_CREDENTIALS from env (TRIBUTARY__CONTEXT__SECRETS__GCP_CREDENTIALS): service account etl@p.iam.gserviceaccount.com",
        flow: "etl",
        runId: "r1",
      }),
      row: {
        name: "GCP_CREDENTIALS",
        source: "env",
        detail: "TRIBUTARY__CONTEXT__SECRETS__GCP_CREDENTIALS",
        principal: "service account etl@p.iam.gserviceaccount.com",
      },
    },
    {
      what: "a detail holding parentheses",
      line: "AWS_CREDENTIALS from argument (profile ops (AWS SDK default provider chain))",
      row: {
        name: "AWS_CREDENTIALS",
        source: "argument",
        detail: "profile ops (AWS SDK default provider chain)",
      },
    },
  ])("$what", ({ line, row }) => {
    expect(provenanceOf(line, agentNames)).toEqual(row);
  });

  it.each([
    `${TIME} INFO  Flow run nightly started flow=nightly runId=r1`,
    `${TIME} WARN  AWS_CREDENTIALS from env (X) runId=r1`,
    `${TIME} INFO  leastPrivilege: AWS_CREDENTIALS cannot be scoped (static keys); the task runs with the whole credential`,
    "someone said AWS_CREDENTIALS from env (X)",
    JSON.stringify({ time: TIME, level: "warn", msg: "AWS_CREDENTIALS from env (X)" }),
  ])("is not fooled by %s", (line) => {
    expect(provenanceOf(line, agentNames)).toBeUndefined();
  });
});

describe("RunLog", () => {
  it("keeps the last lines within the line and byte limits, with a note saying how many were cut", () => {
    const cases = [
      { lines: 5, size: 10, maxLines: 10, maxBytes: 1000, kept: 5, cut: 0 },
      { lines: 25, size: 10, maxLines: 10, maxBytes: 1000, kept: 10, cut: 15 },
      { lines: 25, size: 100, maxLines: 100, maxBytes: 1010, kept: 10, cut: 15 },
    ];
    for (const c of cases) {
      const log = new RunLog(new Set(), c.maxLines, c.maxBytes);
      for (let i = 0; i < c.lines; i++) log.add(String(i).padStart(c.size, "x"));
      const lines = log.lines();
      expect(lines.length, JSON.stringify(c)).toBe(c.kept + (c.cut > 0 ? 1 : 0));
      expect(lines.at(-1)).toBe(String(c.lines - 1).padStart(c.size, "x"));
      if (c.cut > 0) expect(lines[0]).toBe(cutNote(c.cut));
    }
  });

  it("makes one credential row per name, source and scope, however often it is resolved", () => {
    const log = new RunLog(agentNames);
    const line = `${TIME} INFO  SLACK_WEBHOOK_URL from env (TRIBUTARY__CONTEXT__SECRETS__SLACK_WEBHOOK_URL) runId=r1`;
    for (let i = 0; i < 50; i++) log.add(line);
    log.add(`${TIME} INFO  GCP_CREDENTIALS from store (/s.json) runId=r1`);
    log.add(`${TIME} INFO  GCP_CREDENTIALS from store (/s.json): service account a@b runId=r1`);
    expect(log.credentials()).toEqual([
      { name: "SLACK_WEBHOOK_URL", source: "agent", detail: "-e SLACK_WEBHOOK_URL" },
      { name: "GCP_CREDENTIALS", source: "store", detail: "/s.json", principal: "service account a@b" },
    ]);
  });
});

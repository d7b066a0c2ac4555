// The demo flow: a nightly export that reads a CSV from S3, writes a summary to Cloud Storage, opens a GitHub
// issue and posts to Slack — all against local stand-ins that check credentials like the real services.
// Each credential comes from a different place, and the log says which; no value is ever printed.
//
//   pnpm demo
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configureBackends, directoryBackend, localStore } from "@tributary/auth";
import { s3Download, s3Upload } from "@tributary/aws";
import { runCli } from "@tributary/cli";
import { flow, task } from "@tributary/flow";
import { gcsUpload } from "@tributary/gcp";
import { githubCreateIssue } from "@tributary/github";
import { slackNotifier, slackWebhook } from "@tributary/slack";
import {
  generateGitHubToken,
  startGitHubStandIn,
  startGoogleStandIn,
  startS3StandIn,
  startSlackStandIn,
} from "@tributary/testing";

const say = (text: string) => console.log(`\n▸ ${text}`);

// A private home for the local secret store, so the demo never touches yours.
process.env.TRIBUTARY_HOME = mkdtempSync(join(tmpdir(), "tributary-demo-"));

say("Starting stand-ins for S3, Google (OAuth + Cloud Storage), GitHub and Slack on 127.0.0.1");
const s3 = await startS3StandIn({ buckets: ["raw-exports"] });
const google = await startGoogleStandIn();
google.createBucket("warehouse");
const githubToken = generateGitHubToken();
const github = await startGitHubStandIn({ tokens: [githubToken], repos: [{ fullName: "acme/data" }] });
const slack = await startSlackStandIn({ webhooks: ["T0DEMO/B0DEMO/demo-webhook-secret"] });

// Each credential lives somewhere different, as it would in production.
const [awsKey] = s3.keyPairs;
// 1. AWS_CREDENTIALS: in the environment, the way an agent passes it to its runs.
process.env.TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS = JSON.stringify({
  ACCESS_KEY: awsKey?.accessKeyId,
  SECRET_ACCESS_KEY: awsKey?.secretAccessKey,
});
// 2. GCP_CREDENTIALS: a mounted secret folder (a Kubernetes secret volume), asked only because the flow declares it.
const mounted = mkdtempSync(join(tmpdir(), "tributary-demo-secrets-"));
writeFileSync(join(mounted, "GCP_CREDENTIALS"), JSON.stringify(await google.createServiceAccount()));
configureBackends([directoryBackend(mounted)]);
// 3. GITHUB_ACCESS_TOKEN: the local store, as `tributary secrets set GITHUB_ACCESS_TOKEN` writes it.
await localStore().set("GITHUB_ACCESS_TOKEN", githubToken);
// 4. SLACK_WEBHOOK_URL: given to the run itself (see nightly.run below).
const webhookUrl = slack.webhookUrl("T0DEMO/B0DEMO/demo-webhook-secret");

const s3Options = { endpoint: s3.url, forcePathStyle: true, region: "us-east-1" } as const;

say("Seeding S3 with yesterday's export (credentials passed as an explicit argument)");
const csv = [
  "day,customer,amount",
  "2026-11-25,acme,120.50",
  "2026-11-25,globex,80.00",
  "2026-11-25,initech,42.25",
];
await s3Upload({
  ...s3Options,
  credentials: { ACCESS_KEY: awsKey?.accessKeyId ?? "", SECRET_ACCESS_KEY: awsKey?.secretAccessKey ?? "" },
  bucket: "raw-exports",
  key: "2026-11-25.csv",
  body: `${csv.join("\n")}\n`,
  contentType: "text/csv",
});

const summarize = task({ name: "summarize" }, async (text: string) => {
  const rows = text.trim().split("\n").slice(1);
  const total = rows.reduce((sum, row) => sum + Number(row.split(",")[2]), 0);
  return { rows: rows.length, total: Math.round(total * 100) / 100 };
});

const nightly = flow(
  {
    name: "nightly-export",
    secrets: ["GCP_CREDENTIALS"],
    onFailure: slackNotifier({ on: ["failure"] }),
    logger: { format: "text" },
  },
  async ({ params, log }) => {
    const day = String((params as { day: string }).day);
    const { body } = await s3Download({
      ...s3Options,
      bucket: "raw-exports",
      key: `${day}.csv`,
    });
    const summary = await summarize(body.toString("utf8"));
    log.info("summarized the export", summary);
    await gcsUpload({
      endpoint: google.url,
      bucket: "warehouse",
      key: `summaries/${day}.json`,
      body: JSON.stringify({ day, ...summary }),
      contentType: "application/json",
    });
    const issue = await githubCreateIssue({
      endpoint: github.url,
      repo: "acme/data",
      title: `Nightly export ${day}: ${summary.rows} rows`,
      body: `Total amount: ${summary.total}`,
    });
    await slackWebhook({
      text: `Nightly export ${day}: ${summary.rows} rows, total ${summary.total} (issue #${issue.number})`,
    });
    return summary;
  },
);

say("Running the flow: watch each credential's source in the log");
const report = await nightly.run({
  params: { day: "2026-11-25" },
  secrets: { SLACK_WEBHOOK_URL: webhookUrl },
});
say(
  `Run ${report.state}: ${report.tasks.map((t) => `${t.name} (${t.state}, ${t.durationMs} ms)`).join(", ")}`,
);
console.log(`  Cloud Storage now holds: ${google.objectNames("warehouse").join(", ")}`);
console.log(
  `  GitHub issue opened:     ${github
    .repo("acme/data")
    ?.issues.map((i) => `#${i.number} ${i.title}`)
    .join(", ")}`,
);
console.log(
  `  Slack received:          ${slack.received.webhooks.map((w) => JSON.stringify(w.payload.text)).join(", ")}`,
);

say("A failing run: its error quotes the webhook URL, and the Slack notifier receives it masked");
const broken = flow(
  { name: "broken-export", onFailure: slackNotifier({ on: ["failure"] }), logger: { level: "error" } },
  async () => {
    throw new Error(`could not reach ${webhookUrl}`);
  },
);
const failed = await broken.run({ secrets: { SLACK_WEBHOOK_URL: webhookUrl } });
const notice = JSON.stringify(slack.received.webhooks.at(-1)?.payload);
console.log(`  Run ${failed.state}; the report's error: ${failed.error?.message}`);
console.log(
  `  The notifier's message contains the URL: ${notice.includes(webhookUrl)}; contains [redacted]: ${notice.includes("[redacted]")}`,
);

say("`tributary doctor`: which credentials would be used, and from where (never the values)");
await runCli(["doctor"]);

await Promise.all([s3.close(), google.close(), github.close(), slack.close()]);
for (const dir of [process.env.TRIBUTARY_HOME ?? "", mounted]) rmSync(dir, { recursive: true, force: true });

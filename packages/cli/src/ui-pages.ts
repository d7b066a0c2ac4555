import type { AgentInfo, RunDetail, RunRecord, ScheduleWithRuns } from "@tributary/agent";
import { formatDuration } from "./format-duration.js";

/** A run as the dashboard lists it: its record and its queue. */
export type UiRun = RunRecord & { readonly queue: string };

/** What every page's frame needs. */
export interface PageFrame {
  /** The page's title. */
  title: string;
  /** Which tab is lit. */
  tab: "runs" | "schedules" | "agents" | "login";
  /** The queues the dashboard shows. */
  queues: readonly string[];
  /** Whether the page follows live events (re-reads itself when a run moves). */
  live?: boolean;
  /** The CSRF token for action forms, when actions are allowed. */
  csrf?: string;
}

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for HTML content and attribute values. */
export function esc(value: unknown): string {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ENTITIES[c] as string);
}

const runHref = (queue: string, runId: string) =>
  `/runs/${encodeURIComponent(queue)}/${encodeURIComponent(runId)}`;

/** The whole page: header, tabs, the body; styles and script come from files (the CSP allows no inline code). */
export function page(frame: PageFrame, body: string): string {
  const tab = (name: PageFrame["tab"], label: string, href: string) =>
    `<a href="${href}"${frame.tab === name ? ' aria-current="page"' : ""}>${label}</a>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(frame.title)} · tributary</title>
<link rel="stylesheet" href="/assets/ui.css"><script src="/assets/ui.js" defer></script></head>
<body><header><strong class="brand">tributary</strong>${
    frame.tab === "login"
      ? ""
      : `<nav>${tab("runs", "Runs", "/")}${tab("schedules", "Schedules", "/schedules")}${tab("agents", "Agents", "/agents")}</nav><span class="queues">queues: ${frame.queues.map(esc).join(", ")}</span>`
  }</header>
<main${frame.live ? ' data-live="1"' : ""}>${body}</main></body></html>`;
}

const stateChip = (state: string) => `<span class="state state-${esc(state)}">${esc(state)}</span>`;

/** The runs page's filters, as given in the query. */
export interface RunsQuery {
  queue?: string;
  flow?: string;
  state?: string;
  since?: string;
}

/** The runs page: filters, then the runs newest first; failed runs stand out. */
export function runsPage(
  frame: PageFrame,
  runs: readonly UiRun[],
  query: RunsQuery,
  states: readonly string[],
  error?: string,
): string {
  const option = (value: string, selected: string | undefined, label = value) =>
    `<option value="${esc(value)}"${value === selected ? " selected" : ""}>${esc(label)}</option>`;
  const filters = `<form class="filters" method="get" action="/">
<label>queue <select name="queue">${option("", query.queue, "all")}${frame.queues.map((q) => option(q, query.queue)).join("")}</select></label>
<label>flow <input name="flow" value="${esc(query.flow)}" placeholder="name or address"></label>
<label>state <select name="state">${option("", query.state, "any")}${states.map((s) => option(s, query.state)).join("")}</select></label>
<label>since <input name="since" value="${esc(query.since)}" placeholder="24h, 7d or a date" size="10"></label>
<button type="submit">Filter</button></form>`;
  const rows = runs
    .map(
      (r) => `<tr class="run${r.state === "failed" ? " failed" : ""}" data-run="${esc(r.runId)}">
<td>${stateChip(r.state)}</td><td><a href="${runHref(r.queue, r.runId)}">${esc(r.runId)}</a></td>
<td>${esc(r.flow ?? "")}</td><td class="address">${esc(r.address)}</td><td>${esc(r.queue)}</td>
<td>${esc(r.schedule ?? "")}</td><td>${esc(r.startedAt ?? `queued ${r.enqueuedAt}`)}</td>
<td>${esc(r.durationMs === undefined ? "" : formatDuration(r.durationMs))}</td><td>${esc(r.agent ?? "")}</td></tr>${
        r.state === "failed" && r.error
          ? `<tr class="run-error"><td></td><td colspan="8"><code>${esc(r.error.split("\n")[0])}</code></td></tr>`
          : ""
      }`,
    )
    .join("\n");
  return page(
    { ...frame, live: true },
    `<h1>Runs</h1>${filters}${error ? `<p class="error">${esc(error)}</p>` : ""}${
      frame.csrf ? queueRunForm(frame) : ""
    }
<table class="runs"><thead><tr><th>state</th><th>run</th><th>flow</th><th>address</th><th>queue</th><th>schedule</th><th>started</th><th>duration</th><th>agent</th></tr></thead>
<tbody>${rows || '<tr><td colspan="9" class="empty">No runs yet.</td></tr>'}</tbody></table>`,
  );
}

function queueRunForm(frame: PageFrame): string {
  return `<details class="action"><summary>Queue a run</summary>
<form method="post" action="/actions/run"><input type="hidden" name="csrf" value="${esc(frame.csrf)}">
<label>queue <select name="queue">${frame.queues.map((q) => `<option>${esc(q)}</option>`).join("")}</select></label>
<label>address <input name="address" required placeholder="s3://flows/prod/nightly" size="40"></label>
<label>params <input name="params" placeholder='{"day":"2026-12-01"}' size="30"></label>
<button type="submit">Queue</button></form></details>`;
}

const BAR_HEIGHT = 22;
const LABEL_WIDTH = 180;
const CHART_WIDTH = 640;

/** The task timeline as SVG: one bar per task call on a shared time axis, coloured by state, attempts marked. */
export function timeline(run: RunDetail): string {
  const tasks = run.tasks.filter((t) => t.start !== undefined);
  if (tasks.length === 0) return '<p class="empty">No task ran.</p>';
  const starts = tasks.map((t) => Date.parse(t.start as string));
  const runStart = Math.min(Date.parse(run.report?.start ?? run.startedAt ?? "") || Infinity, ...starts);
  const now = Date.now();
  const ends = tasks.map(
    (t, i) => (starts[i] as number) + (t.durationMs ?? Math.max(0, now - (starts[i] as number))),
  );
  const span = Math.max(1, Math.max(...ends, runStart + (run.durationMs ?? 0)) - runStart);
  const x = (ms: number) => LABEL_WIDTH + ((ms - runStart) / span) * CHART_WIDTH;
  const height = tasks.length * (BAR_HEIGHT + 6) + 30;
  const bars = tasks
    .map((t, i) => {
      const y = i * (BAR_HEIGHT + 6) + 4;
      const left = x(starts[i] as number);
      const width = Math.max(2, x(ends[i] as number) - left);
      const retries = t.attempts > 1 ? ` · ${t.attempts} attempts` : "";
      const label = `${t.name}: ${t.state}, ${t.durationMs === undefined ? "running" : formatDuration(t.durationMs)}${retries}`;
      return `<g class="task task-${esc(t.state)}" data-task="${esc(t.name)}"><title>${esc(label)}</title>
<text x="0" y="${y + 15}" class="task-name">${esc(t.name.length > 24 ? `${t.name.slice(0, 23)}…` : t.name)}</text>
<rect class="bar" x="${left.toFixed(1)}" y="${y}" width="${width.toFixed(1)}" height="${BAR_HEIGHT}" rx="3"></rect>${
        t.attempts > 1
          ? `<text x="${(left + width + 4).toFixed(1)}" y="${y + 15}" class="retries">×${t.attempts}</text>`
          : ""
      }</g>`;
    })
    .join("\n");
  const axisY = tasks.length * (BAR_HEIGHT + 6) + 16;
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => {
      const tx = LABEL_WIDTH + f * CHART_WIDTH;
      return `<line x1="${tx}" x2="${tx}" y1="0" y2="${axisY - 10}" class="tick"></line><text x="${tx}" y="${axisY + 8}" class="axis" text-anchor="middle">${esc(formatDuration(Math.round(f * span)))}</text>`;
    })
    .join("");
  return `<svg class="timeline" role="img" aria-label="task timeline" viewBox="0 0 ${LABEL_WIDTH + CHART_WIDTH + 40} ${height}" width="${LABEL_WIDTH + CHART_WIDTH + 40}" height="${height}">${ticks}${bars}</svg>`;
}

/** A run's page: summary, error, timeline, credential table, params, masked report, log lines. */
export function runPage(frame: PageFrame, queue: string, run: RunDetail): string {
  const row = (label: string, value: unknown) =>
    value === undefined || value === "" ? "" : `<tr><th>${esc(label)}</th><td>${esc(value)}</td></tr>`;
  const error = run.report?.error ? `${run.report.error.name}: ${run.report.error.message}` : run.error;
  const credentials = run.credentials.length
    ? `<table class="credentials"><thead><tr><th>name</th><th>source</th><th>detail</th><th>scope</th><th>principal</th></tr></thead><tbody>${run.credentials
        .map(
          (c) =>
            `<tr><td>${esc(c.name)}</td><td><span class="source source-${esc(c.source)}">${esc(c.source)}</span></td><td>${esc(c.detail)}</td><td>${esc(c.scope ?? "")}</td><td>${esc(c.principal ?? "")}</td></tr>`,
        )
        .join("")}</tbody></table>`
    : '<p class="empty">No credential was resolved.</p>';
  const retry =
    frame.csrf && run.state === "failed"
      ? `<form class="action" method="post" action="${runHref(queue, run.runId)}/retry"><input type="hidden" name="csrf" value="${esc(frame.csrf)}"><button type="submit">Retry this run</button></form>`
      : "";
  return page(
    { ...frame, live: true },
    `<p><a href="/">← runs</a></p><h1>Run ${esc(run.runId)} ${stateChip(run.state)}</h1>${retry}
<table class="summary">${row("queue", queue)}${row("flow", run.flow)}${row("address", run.address)}${row("schedule", run.schedule)}${row("scheduled for", run.scheduledFor)}${row("agent", run.agent)}${row("attempts", run.attempts)}${row("queued", run.enqueuedAt)}${row("started", run.startedAt)}${row("ended", run.finishedAt)}${row("duration", run.durationMs === undefined ? undefined : formatDuration(run.durationMs))}${row("ended in task", run.endedIn)}${row("secret names", run.secrets.join(", "))}</table>
${error ? `<h2>Error</h2><pre class="error">${esc(error)}</pre>` : ""}
<h2>Timeline</h2>${timeline(run)}
<h2>Credentials</h2>${credentials}
<h2>Params</h2><pre>${esc(JSON.stringify(run.params ?? null, null, 2))}</pre>
<h2>Log</h2>${run.logs && run.logs.length > 0 ? `<pre class="logs">${run.logs.map(esc).join("\n")}</pre>` : '<p class="empty">No log lines.</p>'}
${run.report ? `<details><summary>Report (JSON)</summary><pre>${esc(JSON.stringify(run.report, null, 2))}</pre></details>` : ""}`,
  );
}

/** The schedules page: each schedule with its next fire times and its last runs' states; paused ones marked. */
export function schedulesPage(
  frame: PageFrame,
  schedules: readonly (ScheduleWithRuns & { queue: string })[],
): string {
  const rows = schedules
    .map((s) => {
      const when = s.cron
        ? `cron ${s.cron}${s.tz ? ` (${s.tz})` : ""}`
        : `every ${formatDuration(s.everyMs ?? 0)}`;
      const action = frame.csrf
        ? `<form method="post" action="/schedules/${encodeURIComponent(s.queue)}/${encodeURIComponent(s.name)}/${s.paused ? "resume" : "pause"}"><input type="hidden" name="csrf" value="${esc(frame.csrf)}"><button type="submit">${s.paused ? "Resume" : "Pause"}</button></form>`
        : "";
      return `<tr class="schedule${s.paused ? " paused" : ""}" data-schedule="${esc(s.name)}"><td>${esc(s.name)}${s.paused ? ' <span class="state state-paused">paused</span>' : ""}</td><td>${esc(s.queue)}</td><td class="address">${esc(s.address)}</td><td>${esc(when)}</td>
<td>${s.next.map((n) => `<div>${esc(n)}</div>`).join("") || "—"}</td>
<td>${s.lastRuns.map((r) => `<a href="${runHref(s.queue, r.runId)}" title="${esc(r.runId)}">${stateChip(r.state)}</a>`).join(" ") || "—"}</td><td>${action}</td></tr>`;
    })
    .join("\n");
  return page(
    frame,
    `<h1>Schedules</h1><table class="schedules"><thead><tr><th>name</th><th>queue</th><th>address</th><th>when</th><th>next</th><th>last runs</th><th></th></tr></thead><tbody>${
      rows || '<tr><td colspan="7" class="empty">No schedules.</td></tr>'
    }</tbody></table>`,
  );
}

/** The agents page: each live agent's queue, isolation, concurrency, runs going and the secret names it passes. */
export function agentsPage(frame: PageFrame, agents: readonly AgentInfo[]): string {
  const rows = agents
    .map(
      (a) =>
        `<tr data-agent="${esc(a.id)}"><td><span class="state state-alive">alive</span> ${esc(a.id)}</td><td>${esc(a.queue)}</td><td>${esc(a.host)} (pid ${esc(a.pid)})</td><td>${esc(a.isolation)}</td><td>${esc(a.concurrency)}</td><td>${esc(a.running)}</td><td>${a.secrets.map((s) => `<code>${esc(s)}</code>`).join(" ")}</td><td>${esc(a.startedAt)}</td><td>${esc(a.seenAt)}</td></tr>`,
    )
    .join("\n");
  return page(
    { ...frame, live: true },
    `<h1>Agents</h1><table class="agents"><thead><tr><th>agent</th><th>queue</th><th>host</th><th>isolation</th><th>concurrency</th><th>running</th><th>secret names</th><th>started</th><th>seen</th></tr></thead><tbody>${
      rows || '<tr><td colspan="9" class="empty">No agent is alive on these queues.</td></tr>'
    }</tbody></table>`,
  );
}

/** The login form: the token, posted once, sets an HttpOnly, SameSite=Strict cookie. */
export function loginPage(frame: PageFrame, failed: boolean): string {
  return page(
    frame,
    `<h1>Sign in</h1>${failed ? '<p class="error">That token is not the one this dashboard was started with.</p>' : ""}
<form class="login" method="post" action="/login"><label>token <input type="password" name="token" autocomplete="current-password" required autofocus></label><button type="submit">Sign in</button></form>`,
  );
}

/** A short page for a missing run or a refused action. */
export function messagePage(frame: PageFrame, title: string, message: string): string {
  return page(frame, `<h1>${esc(title)}</h1><p>${esc(message)}</p><p><a href="/">← runs</a></p>`);
}

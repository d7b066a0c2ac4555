// The dashboard's style sheet and script, served as files: the Content-Security-Policy allows no inline code.

/** `/assets/ui.css`. */
export const UI_CSS = `:root{color-scheme:light dark;--bg:#fbfbfa;--fg:#1d232b;--muted:#66707c;--line:#dde1e6;--ok:#1f8a4c;--bad:#c62f2f;--run:#2f6fc6;--wait:#9a7b12;--skip:#7a7f87}
@media (prefers-color-scheme:dark){:root{--bg:#15181c;--fg:#e5e8ec;--muted:#9aa3ad;--line:#2d333a}}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif}
header{display:flex;gap:24px;align-items:center;padding:10px 24px;border-bottom:1px solid var(--line)}
.brand{font-size:16px}nav a{margin-right:16px;color:var(--muted);text-decoration:none;font-weight:500}nav a[aria-current]{color:var(--fg);border-bottom:2px solid var(--run)}
.queues{margin-left:auto;color:var(--muted);font-size:12px}main{padding:16px 24px;max-width:1400px}
h1{font-size:20px;margin:8px 0 16px}h2{font-size:15px;margin:24px 0 8px}a{color:var(--run)}
table{border-collapse:collapse;width:100%;margin-bottom:12px}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:500;font-size:12px}table.summary{width:auto}table.summary th{padding-right:24px}
tr.failed td{background:color-mix(in srgb,var(--bad) 9%,transparent)}tr.run-error td{border-top:0;color:var(--bad);font-size:12px}
.address{color:var(--muted);font-family:ui-monospace,monospace;font-size:12px}
.state{display:inline-block;padding:0 7px;border-radius:9px;font-size:12px;font-weight:600;color:#fff;background:var(--skip)}
.state-completed,.state-alive{background:var(--ok)}.state-failed{background:var(--bad)}.state-running{background:var(--run)}
.state-waiting,.state-delayed,.state-paused{background:var(--wait)}.state-cancelled,.state-skipped{background:var(--skip)}
tr.paused td{color:var(--muted)}pre{background:color-mix(in srgb,var(--fg) 6%,transparent);padding:10px;overflow:auto;max-height:420px;font-size:12px}
pre.error,p.error{color:var(--bad)}.empty{color:var(--muted)}code{font-size:12px}
.filters,.action form,form.action,form.login{display:flex;gap:12px;align-items:end;flex-wrap:wrap;margin-bottom:14px}
label{display:flex;flex-direction:column;font-size:12px;color:var(--muted);gap:2px}
input,select,button{font:inherit;padding:4px 8px;border:1px solid var(--line);border-radius:4px;background:var(--bg);color:var(--fg)}
button{cursor:pointer;background:var(--run);color:#fff;border-color:var(--run)}details.action{margin-bottom:12px}
svg.timeline{max-width:100%;height:auto;font-size:12px}svg .task-name{fill:var(--fg)}svg .axis,svg .retries{fill:var(--muted)}
svg .tick{stroke:var(--line)}svg .bar{fill:var(--skip)}svg .task-completed .bar{fill:var(--ok)}svg .task-failed .bar{fill:var(--bad)}
svg .task-running .bar{fill:var(--run)}svg .task-pending .bar{fill:var(--wait)}
.source{font-family:ui-monospace,monospace;font-weight:600}
`;

/** `/assets/ui.js`: a page marked live re-reads itself when a run of its queues moves (server-sent events). */
export const UI_JS = `"use strict";
(function () {
  var main = document.querySelector("main[data-live]");
  if (!main || typeof EventSource === "undefined") return;
  var timer = 0;
  function refresh() {
    timer = 0;
    fetch(location.href, { headers: { accept: "text/html" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (html) {
        if (!html) return;
        var next = new DOMParser().parseFromString(html, "text/html").querySelector("main");
        var open = document.activeElement && main.contains(document.activeElement);
        if (next && !open) main.innerHTML = next.innerHTML;
      })
      .catch(function () {});
  }
  var events = new EventSource("/events");
  events.addEventListener("run", function (event) {
    document.body.setAttribute("data-last-event", event.data);
    if (!timer) timer = setTimeout(refresh, 250);
  });
})();
`;

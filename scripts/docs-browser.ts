// Opens the built docs site (docs/.vitepress/dist, from `pnpm docs:build`) in headless Chromium and checks what a
// reader would notice: every page loads with no console error; no internal link or anchor is dead; the local
// search finds AWS_CREDENTIALS and slackNotifier; the default-names table shows every registered name; the API
// reference has a page for every package. Screenshots of the home page and an integration page are written to
// $CI_ARTIFACTS (default /tmp/tributary-ci).
// Chromium: Debian's (`apt-get install chromium`), or the one named by $CHROMIUM; driven by playwright-core.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, relative } from "node:path";
import { listSecrets } from "@tributary/auth";
import { CHROMIUM_PATH, launchChromium } from "./chromium.ts";

const root = join(import.meta.dirname, "..");
const dist = join(root, "docs", ".vitepress", "dist");
const artifacts = process.env.CI_ARTIFACTS || "/tmp/tributary-ci";
const started = performance.now();

if (!existsSync(join(dist, "index.html"))) {
  console.error("docs:browser: no built site: run `pnpm docs:build` first");
  process.exit(1);
}
if (!existsSync(CHROMIUM_PATH)) {
  console.error(
    `docs:browser: no Chromium at ${CHROMIUM_PATH}: apt-get install -y chromium (or set CHROMIUM)`,
  );
  process.exit(1);
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".css": "text/css",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".woff2": "font/woff2",
  ".md": "text/markdown; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
};

function fileFor(urlPath: string): string | undefined {
  const clean = decodeURIComponent(urlPath.split(/[?#]/)[0] ?? "/");
  const candidates = clean.endsWith("/") ? [`${clean}index.html`] : [clean, `${clean}.html`];
  for (const candidate of candidates) {
    const path = join(dist, candidate);
    if (!relative(dist, path).startsWith("..") && existsSync(path) && statSync(path).isFile()) return path;
  }
  return undefined;
}

const server = createServer((req, res) => {
  const file = fileFor(req.url ?? "/");
  if (!file) {
    res.writeHead(404, { "content-type": "text/html" }).end(readFileSync(join(dist, "404.html")));
    return;
  }
  res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
  res.end(readFileSync(file));
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

function htmlPages(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== "assets") out.push(...htmlPages(path));
    else if (entry.name.endsWith(".html") && entry.name !== "404.html") out.push(`/${relative(dist, path)}`);
  }
  return out.sort();
}

/** `/auth.html`, `/auth`, `/guide/` → the page's canonical path, as served. */
function canonical(pathname: string): string {
  const file = fileFor(pathname);
  return file ? `/${relative(dist, file)}` : pathname;
}

const problems: string[] = [];
let checks = 0;
const browser = await launchChromium();

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  let current = "";
  page.on("console", (message) => {
    if (message.type() === "error")
      problems.push(`${current}: console error: ${message.text()} (${message.location().url})`);
  });
  page.on("pageerror", (error) => problems.push(`${current}: uncaught error: ${error.message}`));
  page.on("response", (response) => {
    if (response.url().startsWith(base) && response.status() >= 400) {
      problems.push(`${current}: ${response.status()} for ${response.url().slice(base.length)}`);
    }
  });

  const pages = htmlPages(dist);
  const ids = new Map<string, Set<string>>();
  const links: { from: string; href: string }[] = [];
  for (const path of pages) {
    current = path;
    checks++;
    await page.goto(`${base}${path}`, { waitUntil: "networkidle" });
    const found = {
      ids: await page.locator("[id]").evaluateAll((elements) => elements.map((e) => e.id)),
      hrefs: await page
        .locator("a[href]")
        .evaluateAll((anchors) => anchors.map((a) => a.getAttribute("href") ?? "")),
      title:
        (await page
          .locator("h1")
          .first()
          .textContent({ timeout: 1000 })
          .catch(() => "")) ?? "",
    };
    if (found.title.trim() === "" && path !== "/index.html") problems.push(`${path}: no h1 heading`);
    ids.set(path, new Set(found.ids));
    for (const href of found.hrefs) links.push({ from: path, href });
  }

  let checkedLinks = 0;
  for (const { from, href } of links) {
    if (/^[a-z]+:/i.test(href) && !href.startsWith(base)) continue; // external: not ours to check offline
    const url = new URL(href, `${base}${from}`);
    checkedLinks++;
    checks++;
    const target = canonical(url.pathname);
    const file = fileFor(url.pathname);
    if (!file) {
      problems.push(`${from}: dead link ${href}`);
      continue;
    }
    const anchor = decodeURIComponent(url.hash.slice(1));
    if (anchor && target.endsWith(".html") && !ids.get(target)?.has(anchor)) {
      problems.push(`${from}: dead anchor ${href} (no id "${anchor}" on ${target})`);
    }
  }

  // llms.txt: every link is a plain-markdown copy (or llms-full.txt) that the site serves.
  const llms = readFileSync(join(dist, "llms.txt"), "utf8");
  for (const [, target] of llms.matchAll(/\]\((\/[^)]+)\)/g)) {
    checks++;
    if (!target || !fileFor(target)) problems.push(`llms.txt: dead link ${target}`);
  }

  // Local search, as a reader uses it: open the box, type, read the results.
  for (const query of ["AWS_CREDENTIALS", "slackNotifier"]) {
    current = `search "${query}"`;
    checks++;
    await page.goto(`${base}/index.html`, { waitUntil: "networkidle" });
    await page.locator(".VPNavBarSearch button").first().click();
    await page.locator("#localsearch-input").fill(query);
    const results = page.locator("#localsearch-list .result");
    await results
      .first()
      .waitFor({ timeout: 10_000 })
      .catch(() => undefined);
    const texts = await results.allTextContents();
    if (!texts.some((t) => t.includes(query)))
      problems.push(`search for ${query} found nothing that mentions it`);
    else console.log(`search "${query}": ${texts.length} results`);
  }

  // The default-names table shows every registered name.
  current = "/default-secret-names.html";
  await page.goto(`${base}/default-secret-names.html`, { waitUntil: "networkidle" });
  const cells = await page.locator("table tbody tr td:first-child").allTextContents();
  for (const { name } of listSecrets()) {
    checks++;
    if (!cells.includes(name)) problems.push(`the default-names table does not show ${name}`);
  }

  // The reference has a page for every package.
  const packages = readdirSync(join(root, "packages")).filter((name) =>
    existsSync(join(root, "packages", name, "package.json")),
  );
  for (const name of packages) {
    checks++;
    const page = [`/reference/api/@tributary/${name}.html`, `/reference/api/@tributary/${name}/index.html`];
    if (!page.some((p) => pages.includes(p))) problems.push(`no API reference page for @tributary/${name}`);
  }

  mkdirSync(artifacts, { recursive: true });
  current = "screenshots";
  await page.goto(`${base}/index.html`, { waitUntil: "networkidle" });
  await page.screenshot({ path: join(artifacts, "docs-home.png"), fullPage: false });
  await page.goto(`${base}/aws.html`, { waitUntil: "networkidle" });
  await page.screenshot({ path: join(artifacts, "docs-aws.png"), fullPage: false });

  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `docs:browser: ${pages.length} pages loaded, ${checkedLinks} internal links checked, ${packages.length} reference packages; screenshots in ${artifacts}; ${seconds} s`,
  );
} finally {
  await browser.close();
  server.close();
}

const failures = [...new Set(problems)];
for (const problem of failures) console.error(`FAIL ${problem}`);
console.log(`browser: ${Math.max(checks - failures.length, 0)} passed, ${failures.length} failed`);
process.exit(failures.length > 0 ? 1 : 0);

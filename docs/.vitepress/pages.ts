// The site's table of contents: one list, read by the sidebar, the nav, llms.txt and the browser check.
// To add a page, write docs/<name>.md and add its name to a section below. A page that is not listed still
// gets built and shows under "More", so nothing is ever left out of the sidebar.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** A section of the sidebar: its title and its pages, as paths under docs/ without `.md`. */
export interface Section {
  title: string;
  pages: string[];
}

/** The hand-ordered sections. The guide follows the recipe the project grows from. */
export const SECTIONS: Section[] = [
  { title: "Introduction", pages: ["index", "install"] },
  {
    title: "Guide",
    pages: [
      "guide/basics",
      "guide/runtime-environment",
      "guide/using-secrets",
      "default-secret-names",
      "keyless",
      "least-privilege",
      "guide/troubleshooting",
    ],
  },
  { title: "Integrations", pages: ["aws", "gcp", "slack", "github"] },
  {
    title: "Core",
    pages: [
      "auth",
      "flow",
      "deployments",
      "agent",
      "schedules-and-run-history",
      "ui",
      "testing",
      "conventions",
      "integration-kit",
      "cli",
      "releasing",
    ],
  },
];

/** Short sidebar labels; a page not named here is labelled with its title, up to the first colon. */
export const LABELS: Record<string, string> = {
  index: "Home",
  "guide/troubleshooting": "Troubleshooting",
  "guide/runtime-environment": "The runtime environment",
  aws: "AWS",
  gcp: "Google Cloud",
  slack: "Slack",
  github: "GitHub",
  auth: "Credentials (auth)",
  flow: "Flows and tasks",
  testing: "Stand-ins for tests",
  cli: "The tributary command",
  keyless: "Keyless credentials",
  "least-privilege": "Least privilege per task",
};

export const DOCS_DIR: string = join(import.meta.dirname, "..");

/** The first `# ` heading of a page, with backticks and markdown links dropped, or its path. */
export function pageTitle(page: string): string {
  const text = readFileSync(join(DOCS_DIR, `${page}.md`), "utf8");
  const front = /^---\n[\s\S]*?\ntitle:\s*(.+)\n[\s\S]*?---/.exec(text);
  if (front?.[1]) return front[1].trim();
  const heading = /^# (.+)$/m.exec(text);
  return heading?.[1]
    ? heading[1]
        .replace(/`/g, "")
        .replace(/\[([^\]]+)\]\([^)]*\)/g, "$1")
        .trim()
    : page;
}

function markdownFiles(dir: string, prefix = ""): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    if (entry.isDirectory()) out.push(...markdownFiles(join(dir, entry.name), `${prefix}${entry.name}/`));
    else if (entry.name.endsWith(".md")) out.push(`${prefix}${entry.name.slice(0, -3)}`);
  }
  return out.sort();
}

/** The generated reference pages (TypeDoc and the CLI's usage text), once `pnpm docs:generate` has run. */
export function referencePages(): string[] {
  return markdownFiles(join(DOCS_DIR, "reference"), "reference/");
}

/** `reference/api/@tributary/aws` (or `…/auth/index`) → `aws`; undefined for any other page. */
export function packageOfReference(page: string): string | undefined {
  return /^reference\/api\/@tributary\/([a-z-]+)(?:\/index)?$/.exec(page)?.[1];
}

/** Every section with only the pages present on disk, plus "More" (unlisted pages) and "Reference". */
export function sections(): Section[] {
  const exists = (page: string) => existsSync(join(DOCS_DIR, `${page}.md`));
  const listed = new Set(SECTIONS.flatMap((s) => s.pages));
  const present = SECTIONS.map((s) => ({ title: s.title, pages: s.pages.filter(exists) }));
  const unlisted = markdownFiles(DOCS_DIR).filter((p) => !listed.has(p) && !p.startsWith("reference/"));
  if (unlisted.length > 0) present.push({ title: "More", pages: unlisted });
  const reference = referencePages().filter(
    (p) => p === "reference/cli" || packageOfReference(p) !== undefined,
  );
  present.push({ title: "Reference", pages: reference });
  return present.filter((s) => s.pages.length > 0);
}

// After `vitepress build docs`: puts a plain-markdown copy of every page beside its HTML (`/auth.md` beside
// `/auth.html`), and writes /llms.txt (the table of contents, with links to the markdown copies) and
// /llms-full.txt (every page in one file), for people who read docs through their tools.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  DOCS_DIR,
  packageOfReference,
  pageTitle,
  referencePages,
  sections,
} from "../docs/.vitepress/pages.ts";

const dist = join(DOCS_DIR, ".vitepress", "dist");
if (!existsSync(join(dist, "index.html"))) {
  console.error("docs: no built site in docs/.vitepress/dist: run `vitepress build docs` first");
  process.exit(1);
}

/** The first paragraph of plain text after the title, shortened: the line llms.txt shows under a link. */
function summary(page: string): string {
  const name = packageOfReference(page);
  if (name) return `the API of @tributary/${name}, generated from its TSDoc comments.`;
  const source = readFileSync(join(DOCS_DIR, `${page}.md`), "utf8");
  const tagline = /^---\n[\s\S]*?\n\s*tagline:\s*(.+)\n[\s\S]*?---/.exec(source)?.[1];
  if (tagline) return tagline.trim();
  const text = source.replace(/^---\n[\s\S]*?\n---\n/, "");
  const paragraph = text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .find((p) => p !== "" && !/^(#|```|\||<|-|\*|>|:::|\[\[)/.test(p));
  if (!paragraph) return "";
  const flat = paragraph.replace(/\s+/g, " ").replace(/\[([^\]]+)\]\([^)]*\)/g, "$1");
  const sentence = /^(.*?[.!?])(\s|$)/.exec(flat)?.[1] ?? flat;
  return sentence.length > 220 ? `${sentence.slice(0, 217)}…` : sentence;
}

const all = [...new Set([...sections().flatMap((s) => s.pages), ...referencePages()])];
for (const page of all) {
  const target = join(dist, `${page}.md`);
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(join(DOCS_DIR, `${page}.md`), target);
}

const lines = [
  "# Tributary",
  "",
  "> TypeScript task library for flows that call Google Cloud, AWS, Slack and GitHub, with one auth core:",
  "> credentials are found the same way everywhere, a missing one says where it was looked for, no secret is logged,",
  "> and every integration runs offline against local stand-ins. Each link below is the page as plain markdown.",
  "",
];
for (const section of sections()) {
  lines.push(`## ${section.title}`, "");
  for (const page of section.pages) {
    const note = summary(page);
    lines.push(`- [${pageTitle(page)}](/${page}.md)${note ? `: ${note}` : ""}`);
  }
  lines.push("");
}
lines.push("## Optional", "", "- [Every page in one file](/llms-full.txt)", "");
writeFileSync(join(dist, "llms.txt"), lines.join("\n"));

const full = all.map(
  (page) => `<!-- /${page}.md -->\n\n${readFileSync(join(DOCS_DIR, `${page}.md`), "utf8")}`,
);
writeFileSync(join(dist, "llms-full.txt"), full.join("\n\n"));
console.log(`docs: llms.txt, llms-full.txt and ${all.length} markdown copies written to ${dist}`);

import { defineConfig } from "vitepress";
import { LABELS, packageOfReference, pageTitle, sections } from "./pages";

function link(page: string): string {
  if (page === "index") return "/";
  return `/${page.replace(/\/index$/, "/")}`;
}

function label(page: string): string {
  const name = packageOfReference(page);
  if (name) return `@tributary/${name}`;
  if (page === "reference/cli") return "CLI";
  return LABELS[page] ?? pageTitle(page).split(":")[0] ?? page;
}

const sidebar = sections().map((section) => ({
  text: section.title,
  collapsed: section.title === "Reference" ? false : undefined,
  items: section.pages.map((page) => ({ text: label(page), link: link(page) })),
}));

export default defineConfig({
  title: "Tributary",
  description:
    "TypeScript tasks for flows that call Google Cloud, AWS, Slack and GitHub, with one way to find credentials.",
  lang: "en-US",
  head: [["link", { rel: "icon", type: "image/svg+xml", href: "/favicon.svg" }]],
  lastUpdated: false,
  cleanUrls: false,
  // Dead internal links fail the build.
  ignoreDeadLinks: false,
  transformPageData(pageData) {
    if (pageData.relativePath.startsWith("reference/")) pageData.frontmatter.pageClass = "reference-page";
  },
  markdown: { theme: { light: "github-light", dark: "github-dark" } },
  themeConfig: {
    nav: [
      { text: "Guide", link: "/guide/basics" },
      { text: "Integrations", link: "/aws" },
      { text: "Reference", link: "/reference/api/" },
      { text: "llms.txt", link: "/llms.txt", target: "_self" },
    ],
    sidebar,
    outline: { level: [2, 3] },
    search: { provider: "local" },
  },
});

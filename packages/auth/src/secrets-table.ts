import { listSecrets } from "./registry.js";
import { ENV_PREFIX } from "./source.js";

/**
 * Renders the registered secret names as a markdown table: name, shape, what it is for, the services that read it,
 * and the library default behind it. The docs' table of default secret names is this function's output.
 */
export function secretsTableMarkdown(): string {
  const rows = listSecrets().map((d) => {
    const cells = [
      `\`${d.name}\``,
      d.format === "json" ? "JSON object" : "text",
      d.description.replace(/\|/g, "\\|"),
      d.services.join(", "),
      d.fallback ? d.fallback.description : "none: an error when not set",
      `\`${ENV_PREFIX}${d.name}\``,
    ];
    return `| ${cells.join(" | ")} |`;
  });
  return [
    "| name | shape | what it holds | read by | default when not set | env variable |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}

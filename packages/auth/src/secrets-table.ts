import { listSecrets } from "./registry.js";
import type { SecretDefinition } from "./secret-definition.js";
import { ENV_PREFIX } from "./source.js";

/** What the masker hides of a value of `d`: the whole text, the listed fields, or every text field. */
function maskedCell(d: SecretDefinition): string {
  if (d.format !== "json") return "the whole value";
  if (!d.secretFields) return "every text field";
  return d.secretFields.map((f) => `\`${f}\``).join(", ");
}

/**
 * Renders the registered secret names as a markdown table: name, shape, what it is for, what the masker hides of
 * it, the services that read it, and the library default behind it. The docs' table of default secret names is
 * this function's output.
 */
export function secretsTableMarkdown(): string {
  const rows = listSecrets().map((d) => {
    const cells = [
      `\`${d.name}\``,
      d.format === "json" ? "JSON object" : "text",
      d.description.replace(/\|/g, "\\|"),
      maskedCell(d),
      d.services.join(", "),
      d.fallback ? d.fallback.description : "none: an error when not set",
      `\`${ENV_PREFIX}${d.name}\``,
    ];
    return `| ${cells.join(" | ")} |`;
  });
  return [
    "| name | shape | what it holds | masked in logs | read by | default when not set | env variable |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}

/**
 * The configuration reference in README.md, generated from the field table
 * (`deno task docs`); a test fails when the README and the table disagree.
 */
import { describeRange, envName, FIELDS } from "./_fields.ts";

/** Marker lines around the generated part of README.md. */
export const REFERENCE_BEGIN =
  "<!-- BEGIN CONFIG REFERENCE (deno task docs) -->";
export const REFERENCE_END = "<!-- END CONFIG REFERENCE -->";

function cell(s: string): string {
  return s.replaceAll("|", "\\|");
}

/** The markdown table: YAML path, flag, environment variable, default, meaning. */
export function renderReference(): string {
  const rows = FIELDS.map((f) => {
    const def = f.defaultText ??
      (f.required
        ? "**required**"
        : f.default === undefined
        ? "unset"
        : Array.isArray(f.default)
        ? "[]"
        : String(f.default));
    const flag = f.kind === "boolean"
      ? `\`--${f.flag}\`, \`--no-${f.flag}\``
      : `\`--${f.flag}\``;
    const values = f.values ? ` One of: ${f.values.join(", ")}.` : "";
    const range = f.kind === "list" || f.kind === "cidr_list"
      ? (f.max !== undefined ? ` At most ${f.max} entries.` : "")
      : describeRange(f)
      ? ` Valid: ${describeRange(f)}.`
      : "";
    return `| \`${f.path}\` | ${flag} | \`${envName(f.path)}\` | ${
      cell(def)
    } | ${cell(f.description + values + range)} |`;
  });
  // deno fmt would align the columns, and then fight `deno task docs`.
  return [
    REFERENCE_BEGIN,
    "<!-- deno-fmt-ignore-start -->",
    "| YAML path | flag | environment | default | meaning |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
    "<!-- deno-fmt-ignore-end -->",
    REFERENCE_END,
  ].join("\n");
}

/** `readme` with its reference section replaced by the current one. */
export function updateReadme(readme: string): string {
  const a = readme.indexOf(REFERENCE_BEGIN);
  const b = readme.indexOf(REFERENCE_END);
  if (a < 0 || b < a) {
    throw new Error(
      `README.md lacks the ${REFERENCE_BEGIN} ... ${REFERENCE_END} markers`,
    );
  }
  return readme.slice(0, a) + renderReference() +
    readme.slice(b + REFERENCE_END.length);
}

if (import.meta.main) {
  const path = new URL("../../README.md", import.meta.url);
  const before = await Deno.readTextFile(path);
  const after = updateReadme(before);
  if (after !== before) await Deno.writeTextFile(path, after);
  console.log(
    after === before
      ? "README.md reference is up to date"
      : "README.md reference updated",
  );
}

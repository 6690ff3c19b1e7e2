/**
 * Flags for every configuration field, derived from the field table, and the
 * translation of parsed flags back to field paths.
 */
import { type Command, Option } from "commander";
import { envName, FIELDS, type FieldSpec } from "../config/mod.ts";

function collect(value: string, previous: string[] | undefined): string[] {
  return [
    ...(previous ?? []),
    ...value.split(",").map((s) => s.trim()).filter((s) => s),
  ];
}

function help(f: FieldSpec): string {
  const def = f.defaultText ??
    (f.default === undefined
      ? undefined
      : Array.isArray(f.default)
      ? "none"
      : String(f.default));
  return `${f.description} [${f.path}, ${envName(f.path)}${
    def ? `; default: ${def}` : ""
  }]`;
}

/** Adds `--config` and one flag per configuration field to `cmd`. */
export function addConfigOptions(cmd: Command): Command {
  cmd.addOption(
    new Option(
      "-c, --config <file>",
      "YAML configuration file [HA_VIP_CONFIG]",
    ),
  );
  for (const f of FIELDS) {
    if (f.kind === "boolean") {
      cmd.addOption(new Option(`--${f.flag}`, help(f)));
      cmd.addOption(new Option(`--no-${f.flag}`, `Sets ${f.path} to false.`));
    } else if (f.kind === "list") {
      cmd.addOption(
        new Option(`--${f.flag} <address>`, help(f)).argParser(collect),
      );
    } else {
      const arg = f.kind === "duration"
        ? "<duration>"
        : f.kind === "integer"
        ? "<n>"
        : "<value>";
      cmd.addOption(new Option(`--${f.flag} ${arg}`, help(f)));
    }
  }
  return cmd;
}

/** Parsed commander options -> `{ "health.interval": "3s", ... }` for `loadConfig`. */
export function flagValues(
  opts: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of FIELDS) {
    const key = new Option(`--${f.flag}`).attributeName();
    if (opts[key] !== undefined) out[f.path] = opts[key];
  }
  return out;
}

/**
 * Flags for every configuration field, derived from the field table, and the
 * translation of parsed flags back to field paths.
 */
import type { Command } from "commander";
import { envName, FIELDS, type FieldSpec } from "../config/mod.ts";

/** A list flag's values so far, plus this occurrence's comma-separated items. */
export function collect(
  value: string,
  previous: string[] | undefined,
): string[] {
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

/**
 * Adds `--config` and one flag per configuration field to `cmd`. (Options
 * are made by `cmd.createOption`: this file needs commander's types only, so
 * the daemon's start-up path, which reads the same flags without commander,
 * never loads it: see `_run_flags.ts`.)
 */
export function addConfigOptions(cmd: Command): Command {
  cmd.addOption(
    cmd.createOption(
      "-c, --config <file>",
      "YAML configuration file [HA_VIP_CONFIG]",
    ),
  );
  for (const f of FIELDS) {
    if (f.kind === "boolean") {
      cmd.addOption(cmd.createOption(`--${f.flag}`, help(f)));
      cmd.addOption(
        cmd.createOption(`--no-${f.flag}`, `Sets ${f.path} to false.`),
      );
    } else if (f.kind === "list" || f.kind === "cidr_list") {
      const arg = f.flag === "auth-key" ? "<id:file>" : "<address>";
      cmd.addOption(
        cmd.createOption(`--${f.flag} ${arg}`, help(f)).argParser(collect),
      );
    } else {
      const arg = f.kind === "duration"
        ? "<duration>"
        : f.kind === "integer"
        ? "<n>"
        : "<value>";
      cmd.addOption(cmd.createOption(`--${f.flag} ${arg}`, help(f)));
    }
  }
  return cmd;
}

/** commander's attribute name of a long flag: `health-interval` -> `healthInterval`. */
export function attributeName(flag: string): string {
  return flag.split("-").reduce((s, w) => s + w[0].toUpperCase() + w.slice(1));
}

/** Parsed commander options -> `{ "health.interval": "3s", ... }` for `loadConfig`. */
export function flagValues(
  opts: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of FIELDS) {
    const key = attributeName(f.flag);
    if (opts[key] !== undefined) out[f.path] = opts[key];
  }
  return out;
}

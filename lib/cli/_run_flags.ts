/**
 * `ha-vip run`'s flags read straight from the field table, without the
 * command-line library: the daemon's start-up path. commander, and the Node
 * modules its `require`s bring (`child_process`, `fs`, `events`, ...), cost
 * the daemon about 3 MiB resident and 4 MiB of peak for one parse at start
 * (issue 12).
 *
 * Only the plain forms are read: `--flag value`, `--flag=value`, `--flag`
 * and `--no-flag` for booleans, repeated list flags, `-c FILE` and
 * `--config FILE`. Anything else (help, an unknown flag, a missing value, a
 * value that starts with `-`, `--`, an argument that is not a flag) returns
 * `undefined`, and the full command line parses the same arguments and
 * gives its usual messages. So this is the field table's own reader, never
 * a second grammar: `tests/cli/run_flags_test.ts` checks that whatever it
 * accepts, commander reads the same way.
 *
 * @module
 */
import { FIELDS, type FieldSpec } from "../config/mod.ts";
import { collect } from "./_options.ts";

/** What {@link parseRunFlags} read: the file, and values by field path. */
export interface RunFlags {
  /** `--config` / `-c`. */
  config?: string;
  /** Values by field path (`health.interval`), as `loadConfig` takes them. */
  flags: Record<string, unknown>;
}

/** `--flag` -> its field and the value a bare flag means (booleans). */
function flagTable(): Map<string, { field: FieldSpec; bare?: boolean }> {
  const table = new Map<string, { field: FieldSpec; bare?: boolean }>();
  for (const f of FIELDS) {
    if (f.kind === "boolean") {
      table.set(`--${f.flag}`, { field: f, bare: true });
      table.set(`--no-${f.flag}`, { field: f, bare: false });
    } else table.set(`--${f.flag}`, { field: f });
  }
  return table;
}

/** Reads `run`'s arguments (after `run`); `undefined`: let commander do it. */
export function parseRunFlags(args: readonly string[]): RunFlags | undefined {
  const table = flagTable();
  const out: RunFlags = { flags: {} };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "-c") {
      const v = args[++i];
      if (v === undefined || v.startsWith("-")) return undefined;
      out.config = v;
      continue;
    }
    if (!arg.startsWith("--") || arg === "--") return undefined;
    const eq = arg.indexOf("=");
    const name = eq < 0 ? arg : arg.slice(0, eq);
    const inline = eq < 0 ? undefined : arg.slice(eq + 1);
    const next = () => {
      if (inline !== undefined) return inline;
      const v = args[++i];
      return v === undefined || v.startsWith("-") ? undefined : v;
    };
    if (name === "--config") {
      const v = next();
      if (v === undefined) return undefined;
      out.config = v;
      continue;
    }
    const entry = table.get(name);
    if (!entry) return undefined;
    const { field, bare } = entry;
    if (bare !== undefined) {
      if (inline !== undefined) return undefined;
      out.flags[field.path] = bare;
      continue;
    }
    const v = next();
    if (v === undefined) return undefined;
    out.flags[field.path] = field.kind === "list" || field.kind === "cidr_list"
      ? collect(v, out.flags[field.path] as string[] | undefined)
      : v;
  }
  return out;
}

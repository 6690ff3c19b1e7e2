/**
 * Loads the configuration from its three sources, flags > environment
 * (`HA_VIP_*`) > YAML file > defaults, and validates it whole: either every
 * problem is reported at once, or a complete configuration comes back.
 */
import { LineCounter, parseDocument } from "yaml";
import { REDACTED } from "../observe/mod.ts";
import { formatDuration } from "./duration.ts";
import { envName, FIELDS, type FieldSpec } from "./fields.ts";
import {
  bestEffort,
  type Config,
  configSchema,
  crossChecks,
  showValue,
} from "./schema.ts";

/** One problem with the configuration, ready to print. */
export interface ConfigIssue {
  /** Dotted field path, or "" for the file as a whole. */
  path: string;
  message: string;
  /** Where the bad value came from: `--priority`, `HA_VIP_...`, `ha-vip.yaml:4:13`. */
  origin?: string;
}

/** Invalid configuration: every issue found, each naming field, value and fix. */
export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join("\n"));
    this.name = "ConfigError";
  }
}

/** `path: message (from origin)` */
export function formatIssue(i: ConfigIssue): string {
  const where = i.origin ? ` (from ${i.origin})` : "";
  return i.path ? `${i.path}: ${i.message}${where}` : `${i.message}${where}`;
}

/** Where the values come from. Flags are keyed by field path. */
export interface ConfigSources {
  /** YAML file path; `HA_VIP_CONFIG` names one when this is unset. */
  file?: string;
  /** Environment variables (only `HA_VIP_*` are read). */
  env?: Record<string, string>;
  /** Values from flags, keyed by field path (`health.interval`). */
  flags?: Record<string, unknown>;
  /** Host name for the `election.node_name` default. */
  hostname?: string;
  /**
   * false for commands that touch no VIP (`probe`): `vip` and `interface`
   * may then be missing and are filled with inert placeholders.
   */
  requireVip?: boolean;
}

/** A validated configuration and what the operator should know about it. */
export interface LoadedConfig {
  config: Config;
  warnings: string[];
  /** Where each set field came from (`default` when nothing set it). */
  origins: Record<string, string>;
}

const ENV_CONFIG = "HA_VIP_CONFIG";
// Kubernetes injects service links for a Service named "ha-vip" into every pod
// of its namespace (HA_VIP_SERVICE_HOST, HA_VIP_PORT_443_TCP, ...): not typos.
const SERVICE_LINK = /^HA_VIP_(SERVICE_HOST|SERVICE_PORT.*|PORT.*)$/;

function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || v === "";
}

function setIn(
  obj: Record<string, unknown>,
  path: string,
  value: unknown,
): void {
  const keys = path.split(".");
  let node = obj;
  for (const k of keys.slice(0, -1)) {
    node = (node[k] ??= {}) as Record<string, unknown>;
  }
  node[keys.at(-1)!] = value;
}

/** Edit distance, to suggest the field an operator most likely meant. */
function distance(a: string, b: string): number {
  const d = Array.from(
    { length: a.length + 1 },
    (_, i) => [i, ...new Array(b.length).fill(0)],
  );
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(
        d[i - 1][j] + 1,
        d[i][j - 1] + 1,
        d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
  }
  return d[a.length][b.length];
}

function suggest(word: string, candidates: string[]): string {
  let best = "";
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(word, c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3))
    ? `; did you mean ${JSON.stringify(best)}?`
    : "";
}

const SECTIONS = new Set(
  FIELDS.flatMap((f) =>
    f.path.split(".").slice(0, -1).map((_, i, a) => a.slice(0, i + 1).join("."))
  ),
);
const FIELD_PATHS = new Set(FIELDS.map((f) => f.path));

function keysUnder(prefix: string): string[] {
  const depth = prefix === "" ? 0 : prefix.split(".").length;
  const out = new Set<string>();
  for (const p of [...FIELD_PATHS, ...SECTIONS]) {
    if (prefix === "" || p.startsWith(prefix + ".")) {
      const k = p.split(".")[depth];
      if (k !== undefined) out.add(k);
    }
  }
  return [...out];
}

interface FileValues {
  values: Map<string, { value: unknown; origin: string }>;
  issues: ConfigIssue[];
}

/** Reads the YAML file into field values, with each value's line and column. */
export function readYaml(text: string, name: string): FileValues {
  const lc = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lc,
    prettyErrors: true,
    uniqueKeys: true,
  });
  const issues: ConfigIssue[] = [];
  const values = new Map<string, { value: unknown; origin: string }>();
  const at = (offset: number | undefined) => {
    if (offset === undefined) return name;
    const p = lc.linePos(offset);
    return `${name}:${p.line}:${p.col}`;
  };
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const pos = e.linePos?.[0];
      const where = pos ? `${name}:${pos.line}:${pos.col}` : name;
      const what = e.message.split("\n")[0].replace(
        / at line \d+, column \d+:?$/,
        "",
      );
      issues.push({
        path: "",
        message: `YAML syntax error at ${where}: ${what}`,
      });
    }
    return { values, issues };
  }
  const walk = (node: unknown, prefix: string) => {
    // deno-lint-ignore no-explicit-any
    const n = node as any;
    if (n === null || n === undefined) return;
    if (
      !n.items || !Array.isArray(n.items) || n.constructor?.name !== "YAMLMap"
    ) {
      issues.push({
        path: prefix,
        message: prefix === ""
          ? "the file must be a YAML mapping (key: value lines)"
          : "must be a mapping of fields",
        origin: at(n.range?.[0]),
      });
      return;
    }
    for (const pair of n.items) {
      const key = String(pair.key?.value ?? pair.key);
      const path = prefix === "" ? key : `${prefix}.${key}`;
      const origin = at(pair.key?.range?.[0]);
      if (FIELD_PATHS.has(path)) {
        const v = pair.value?.toJSON
          ? pair.value.toJSON()
          : pair.value?.value ?? pair.value;
        if (!isEmpty(v)) {
          values.set(path, { value: v, origin: at(pair.value?.range?.[0]) });
        }
      } else if (SECTIONS.has(path)) {
        walk(pair.value, path);
      } else {
        issues.push({
          path,
          message: `is not a known field${
            suggest(key, keysUnder(prefix))
          } (valid here: ${keysUnder(prefix).sort().join(", ")})`,
          origin,
        });
      }
    }
  };
  walk(doc.contents, "");
  return { values, issues };
}

/**
 * Loads and validates the configuration. Throws {@link ConfigError} with
 * every issue when anything is wrong; nothing is applied in that case.
 */
export async function loadConfig(
  sources: ConfigSources = {},
): Promise<LoadedConfig> {
  const env = sources.env ?? {};
  const issues: ConfigIssue[] = [];
  const warnings: string[] = [];
  const raw: Record<string, unknown> = {};
  const origins: Record<string, string> = {};
  const provided = new Map<string, { value: unknown; origin: string }>();

  let brokenFile = false;
  const file = sources.file ??
    (isEmpty(env[ENV_CONFIG]) ? undefined : env[ENV_CONFIG]);
  if (file !== undefined) {
    let text: string | undefined;
    try {
      text = await Deno.readTextFile(file);
    } catch (e) {
      const reason = e instanceof Deno.errors.NotFound
        ? "no such file"
        : e instanceof Error
        ? e.message
        : String(e);
      issues.push({
        path: "",
        message:
          `cannot read config file ${file}: ${reason}; pass an existing file to --config`,
      });
    }
    if (text !== undefined) {
      const fromFile = readYaml(text, file);
      issues.push(...fromFile.issues);
      // A file that does not parse may well hold the required fields.
      brokenFile = fromFile.issues.some((i) =>
        i.path === "" && i.message.startsWith("YAML syntax error")
      );
      if (brokenFile) throw new ConfigError(issues);
      for (const [p, v] of fromFile.values) provided.set(p, v);
    }
  }

  const known = new Set(FIELDS.map((f) => envName(f.path)));
  known.add(ENV_CONFIG);
  for (const name of Object.keys(env)) {
    if (
      name.startsWith("HA_VIP_") && !known.has(name) && !SERVICE_LINK.test(name)
    ) {
      warnings.push(
        `environment variable ${name} is not a known setting and is ignored${
          suggest(name, [...known])
        }`,
      );
    }
  }
  for (const f of FIELDS) {
    const v = env[envName(f.path)];
    if (!isEmpty(v)) {
      provided.set(f.path, { value: v, origin: envName(f.path) });
    }
  }
  for (const [path, v] of Object.entries(sources.flags ?? {})) {
    const f = FIELDS.find((x) => x.path === path);
    if (!f) throw new Error(`internal: flag for unknown field ${path}`);
    if (!isEmpty(v) && !(Array.isArray(v) && v.length === 0)) {
      provided.set(path, { value: v, origin: `--${f.flag}` });
    }
  }

  for (const f of FIELDS) {
    const p = provided.get(f.path);
    if (p) {
      setIn(raw, f.path, p.value);
      origins[f.path] = p.origin;
    } else if (f.default !== undefined) {
      setIn(raw, f.path, f.default);
      origins[f.path] = "default";
    } else if (f.required && sources.requireVip === false) {
      // Valid but inert: 192.0.2.0/24 is reserved for documentation
      // (RFC 5737), so it passes the VIP checks and names nobody's host.
      setIn(raw, f.path, f.path === "vip" ? "192.0.2.1/32" : "lo");
      origins[f.path] = "placeholder";
    } else if (f.required && !brokenFile) {
      issues.push({
        path: f.path,
        message: `is required; set --${f.flag}, ${
          envName(f.path)
        } or \`${f.path}:\` in the config file`,
      });
    }
  }
  if (isEmpty((raw.election as Record<string, unknown>)?.node_name)) {
    setIn(raw, "election.node_name", sources.hostname ?? Deno.hostname());
    origins["election.node_name"] = "host name";
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const reported = new Set(issues.map((i) => i.path));
    for (const zi of result.error.issues) {
      const path = zi.path.join(".");
      // A missing required field is already reported with how to set it.
      if (reported.has(path)) continue;
      issues.push({
        path,
        message: zi.message,
        origin: origins[path] === "default" ? undefined : origins[path],
      });
    }
    // zod skips refinements once a field failed; run them on what did parse.
    crossChecks(bestEffort(raw), (path, message) => {
      if (!issues.some((i) => i.path === path && i.message === message)) {
        issues.push({
          path,
          message,
          origin: origins[path] === "default" ? undefined : origins[path],
        });
      }
    });
  }
  if (issues.length > 0 || !result.success) throw new ConfigError(issues);
  const config = result.data;

  if (config.announce.vip_lifetime === undefined) {
    // Just past the backups' takeover time (3 intervals + skew < 3 intervals
    // + 1 s): a crashed node's VIP lingers briefly, and never with a gap.
    config.announce.vip_lifetime = autoVipLifetime(
      config.election.vrrp.advert_interval,
    );
    origins["announce.vip_lifetime"] =
      "default (from election.vrrp.advert_interval)";
  }
  if (config.health.url === undefined) {
    config.health.url = config.k8s.in_cluster
      ? "https://127.0.0.1:6443"
      : config.k8s.api_server;
    origins["health.url"] = config.k8s.in_cluster
      ? "default (in-cluster: the local API server)"
      : "k8s.api_server";
  }
  if (config.k8s.in_cluster) {
    const ignored = [
      "k8s.api_server",
      "k8s.token",
      "k8s.token_file",
      "k8s.ca_cert",
    ].filter((p) => origins[p] !== undefined && origins[p] !== "default");
    if (ignored.length > 0) {
      warnings.push(
        `${ignored.join(", ")} ${
          ignored.length === 1 ? "is" : "are"
        } ignored because k8s.in_cluster is true (the service account's token and CA are used)`,
      );
    }
  }
  if (config.k8s.token !== undefined && origins["k8s.token"] === "--token") {
    warnings.push(
      "--token is visible to every user in the process list; prefer --token-file or HA_VIP_K8S_TOKEN",
    );
  }
  if (config.health.insecure_skip_tls_verify) {
    warnings.push(
      "health.insecure_skip_tls_verify is true: the API server's certificate is NOT verified",
    );
  }
  if (!config.k8s.enabled) {
    warnings.push(
      "k8s.enabled is false: API server health is not checked and every node counts as healthy",
    );
  }
  return { config, warnings, origins };
}

/** The default VIP lifetime for an advertisement interval, in ms. */
export function autoVipLifetime(advertIntervalMs: number): number {
  return Math.max(2000, Math.ceil((3 * advertIntervalMs + 1000) / 1000) * 1000);
}

/** The configuration as YAML-shaped data with durations as text and secrets redacted. */
export function redactedConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of FIELDS) {
    // deno-lint-ignore no-explicit-any
    const v = f.path.split(".").reduce<any>((n, k) => n?.[k], config);
    if (v === undefined) continue;
    setIn(
      out,
      f.path,
      f.secret
        ? REDACTED
        : f.kind === "duration"
        ? formatDuration(v as number)
        : v,
    );
  }
  return out;
}

export { showValue };
export type { FieldSpec };

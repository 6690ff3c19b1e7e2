/**
 * Loads the configuration from its three sources, flags > environment
 * (`HA_VIP_*`) > YAML file > defaults, and validates it whole: either every
 * problem is reported at once, or a complete configuration comes back.
 */
import type { Alias, Pair, Scalar, YAMLSeq } from "yaml";
import { fencingPlan } from "../lease/mod.ts";
import { REDACTED } from "../observe/mod.ts";
import { parseIpv4 } from "./_address.ts";
import { formatDuration } from "./_duration.ts";
import { envName, fieldAt, FIELDS, type FieldSpec } from "./_fields.ts";
import { type Config, showValue, validateFields } from "./_schema.ts";

/** Whether the field at `path` takes a list (vip, peers, keys, ...). */
function isListField(path: string): boolean {
  const kind = fieldAt(path)?.kind;
  return kind === "list" || kind === "cidr_list";
}

/** One problem with the configuration, ready to print. */
export interface ConfigIssue {
  /** Dotted field path, or "" for the file as a whole. */
  path: string;
  /** What is wrong and what would be valid. */
  message: string;
  /** Where the bad value came from: `--priority`, `HA_VIP_...`, `ha-vip.yaml:4:13`. */
  origin?: string;
}

/** Invalid configuration: every issue found, each naming field, value and fix. */
export class ConfigError extends Error {
  /** `issues`: every problem found, in field order. */
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
  /** The validated configuration. */
  config: Config;
  /** What is valid but worth saying (ignored settings, unknown variables). */
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

/** What {@link readYaml} found in a file. */
export interface FileValues {
  /** Field values by path, with where each was written (`file:line:col`). */
  values: Map<string, { value: unknown; origin: string }>;
  /** What is wrong in the file. */
  issues: ConfigIssue[];
  /** The file is not YAML at all: nothing in it can be trusted. */
  unparsable: boolean;
}

/** The largest configuration file read (1 MiB): real ones are a few hundred bytes. */
export const MAX_CONFIG_BYTES = 1 << 20;

/**
 * ha-vip's words for the YAML library's error codes. The library's own text
 * is kept (without its position) only for plain syntax errors, where it
 * describes the YAML; it is never shown where it gives API advice.
 */
const YAML_ERROR_TEXT: Partial<Record<string, string>> = {
  MULTIPLE_DOCS:
    `the file holds more than one YAML document (a "---" line separates them); ha-vip reads exactly one: remove the others`,
  DUPLICATE_KEY: "a key appears twice in the same mapping; keep one of them",
  BAD_ALIAS: "an alias (*name) refers to no anchor (&name)",
  TAB_AS_INDENT: "a tab indents a line; YAML indents with spaces only",
  KEY_OVER_1024_CHARS: "a key is longer than 1024 characters",
};

/** Deeper flow nesting than this is refused before parsing (a real file has 1). */
const MAX_FLOW_DEPTH = 32;
/** Deeper indentation than this is refused before parsing (a real file has 4). */
const MAX_INDENT = 256;

/**
 * A cheap scan for nesting no configuration has: `[[[[...` or a staircase of
 * indentation make the YAML parser recurse until the stack overflows, after
 * seconds, with a message in the parser's words. Quoted text and comments are
 * skipped roughly (a stray apostrophe only makes the scan more lenient).
 * Returns the problem and its line, or `undefined`.
 */
function nestingProblem(
  text: string,
): { line: number; what: string } | undefined {
  let depth = 0;
  let line = 1;
  let column = 0;
  let indenting = true;
  let quote = "";
  let comment = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "\n") {
      line++;
      column = 0;
      indenting = true;
      comment = false;
      if (quote === "'") quote = ""; // YAML allows it, configs do not need it
      continue;
    }
    column++;
    if (indenting) {
      if (ch === " ") {
        if (column > MAX_INDENT) {
          return {
            line,
            what: `is indented by more than ${MAX_INDENT} spaces`,
          };
        }
        continue;
      }
      indenting = false;
    }
    if (comment) continue;
    if (quote) {
      if (ch === quote && text[i - 1] !== "\\") quote = "";
      continue;
    }
    if (ch === "#" && (i === 0 || /\s/.test(text[i - 1]))) comment = true;
    else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === "[" || ch === "{") {
      if (++depth > MAX_FLOW_DEPTH) {
        return {
          line,
          what: `nests [ ] or { } more than ${MAX_FLOW_DEPTH} deep`,
        };
      }
    } else if ((ch === "]" || ch === "}") && depth > 0) depth--;
  }
  return undefined;
}

type Yaml = typeof import("yaml");
/**
 * The YAML library, loaded by {@link readYaml} on first use: a daemon
 * configured by flags and environment alone never loads it (issue 12: about
 * 2 MiB resident).
 */
let yamlLib: Yaml;

/** Reads the YAML file into field values, with each value's line and column. */
export async function readYaml(
  text: string,
  name: string,
): Promise<FileValues> {
  const nesting = nestingProblem(text);
  if (nesting) {
    return {
      values: new Map(),
      issues: [{
        path: "",
        message:
          `${name}:${nesting.line} ${nesting.what}; an ha-vip configuration is a few flat sections: is this the right file?`,
      }],
      unparsable: true,
    };
  }
  yamlLib ??= await import("yaml");
  return new YamlReader(text, name).read();
}

/**
 * One scalar's value as the field checks should see it. A number too big
 * for a double (1e309, .inf) or for exact integers keeps the text the
 * operator wrote, so messages show "1e309", never null or Infinity.
 */
function scalarValue(node: Scalar): unknown {
  const v = node.value;
  if (typeof v === "number" && !Number.isSafeInteger(v)) {
    if (!Number.isFinite(v) || Number.isInteger(v)) {
      return node.source ?? String(v);
    }
  }
  return v;
}

function rangeStart(node: unknown): number | undefined {
  return (node as { range?: number[] } | null)?.range?.[0];
}

/** Reads one parsed YAML document into field values and issues. */
class YamlReader {
  readonly #lc = new yamlLib.LineCounter();
  readonly #name: string;
  readonly #doc: ReturnType<Yaml["parseDocument"]>;
  readonly #issues: ConfigIssue[] = [];
  readonly #values = new Map<string, { value: unknown; origin: string }>();

  constructor(text: string, name: string) {
    this.#name = name;
    this.#doc = yamlLib.parseDocument(text, {
      lineCounter: this.#lc,
      prettyErrors: true,
      uniqueKeys: true,
    });
  }

  read(): FileValues {
    const values = this.#values;
    const issues = this.#issues;
    if (this.#doc.errors.length > 0) {
      this.#syntaxErrors();
      return { values, issues, unparsable: true };
    }
    this.#warnings();
    this.#walk(this.#doc.contents, "");
    return { values, issues, unparsable: false };
  }

  #at(offset: number | undefined): string {
    if (offset === undefined) return this.#name;
    const p = this.#lc.linePos(offset);
    return `${this.#name}:${p.line}:${p.col}`;
  }

  #syntaxErrors(): void {
    const errors = this.#doc.errors;
    // After the first few, the parser is only reporting its own confusion.
    for (const e of errors.slice(0, 3)) {
      const pos = e.linePos?.[0];
      const where = pos ? `${this.#name}:${pos.line}:${pos.col}` : this.#name;
      const what = YAML_ERROR_TEXT[e.code] ??
        e.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
      this.#issues.push({
        path: "",
        message: `YAML syntax error at ${where}: ${what}`,
      });
    }
    if (errors.length > 3) {
      this.#issues.push({
        path: "",
        message: `(${errors.length - 3} more YAML errors follow from these)`,
      });
    }
  }

  #warnings(): void {
    for (const w of this.#doc.warnings) {
      // The only warning of the core schema: a tag (!name) it does not know.
      // A value read differently from what was meant must not pass silently.
      this.#issues.push({
        path: "",
        message: w.code === "TAG_RESOLVE_FAILED"
          ? `an unknown YAML tag (${
            w.message.split(" at ")[0].replace(/^Unresolved tag: /, "")
          }) is used; remove it and write the plain value`
          : `YAML problem: ${w.message.split("\n")[0]}`,
        origin: this.#at(w.pos[0]),
      });
    }
  }

  #aliasIssue(path: string, node: Alias): undefined {
    this.#issues.push({
      path,
      message:
        `uses the YAML alias *${node.source}; ha-vip does not follow aliases: write the value itself`,
      origin: this.#at(node.range?.[0]),
    });
    return undefined;
  }

  #fieldValue(node: unknown, path: string): unknown {
    if (yamlLib.isAlias(node)) return this.#aliasIssue(path, node);
    if (yamlLib.isScalar(node)) {
      const v = scalarValue(node);
      if (v !== null && typeof v === "object") {
        this.#issues.push({
          path,
          message:
            `is a tagged YAML value (${node.tag}); write plain text, a number or true/false`,
          origin: this.#at(node.range?.[0]),
        });
        return undefined;
      }
      return v;
    }
    if (yamlLib.isSeq(node) && isListField(path)) {
      return this.#listValue(node, path);
    }
    this.#issues.push({
      path,
      message: `is a ${
        yamlLib.isMap(node) ? "mapping" : "list"
      }; it takes a single value${
        isListField(path) ? " or a list of values" : ""
      }`,
      origin: this.#at(rangeStart(node)),
    });
    return undefined;
  }

  #listValue(node: YAMLSeq, path: string): unknown {
    const items: unknown[] = [];
    for (const item of node.items) {
      if (yamlLib.isAlias(item)) return this.#aliasIssue(path, item);
      if (!yamlLib.isScalar(item)) {
        this.#issues.push({
          path,
          message: "is a list of lists or mappings; list plain addresses",
          origin: this.#at(node.range?.[0]),
        });
        return undefined;
      }
      items.push(scalarValue(item));
    }
    return items;
  }

  #walk(node: unknown, prefix: string): void {
    if (node === null || node === undefined) return;
    if (yamlLib.isAlias(node)) return void this.#aliasIssue(prefix, node);
    if (!yamlLib.isMap(node)) {
      this.#issues.push({
        path: prefix,
        message: prefix === ""
          ? "the file must be a YAML mapping (key: value lines)"
          : "must be a mapping of fields",
        origin: this.#at(rangeStart(node)),
      });
      return;
    }
    for (const pair of node.items) this.#pair(pair, prefix);
  }

  #pair(pair: Pair, prefix: string): void {
    if (!yamlLib.isScalar(pair.key)) {
      this.#issues.push({
        path: prefix,
        message: "has a key that is not plain text",
        origin: this.#at(rangeStart(pair.key)),
      });
      return;
    }
    const key = String(pair.key.source ?? pair.key.value);
    const path = prefix === "" ? key : `${prefix}.${key}`;
    if (FIELD_PATHS.has(path)) {
      const v = pair.value === null ? null : this.#fieldValue(pair.value, path);
      if (!isEmpty(v)) {
        this.#values.set(path, {
          value: v,
          origin: this.#at(rangeStart(pair.value)),
        });
      }
    } else if (SECTIONS.has(path)) {
      this.#walk(pair.value, path);
    } else {
      this.#issues.push({
        path,
        message: `is not a known field${
          suggest(key, keysUnder(prefix))
        } (valid here: ${keysUnder(prefix).sort().join(", ")})`,
        origin: this.#at(pair.key.range?.[0]),
      });
    }
  }
}

/**
 * Reads a configuration file of at most {@link MAX_CONFIG_BYTES}, as UTF-8.
 * Reading stops one byte past the limit, so `/dev/zero` or a runaway file
 * costs 1 MiB of memory, not all of it. Returns the text or an issue.
 */
export async function readConfigFile(
  file: string,
): Promise<{ text: string } | { issue: ConfigIssue }> {
  const fail = (reason: string): { issue: ConfigIssue } => ({
    issue: {
      path: "",
      message: `cannot read config file ${file}: ${reason}`,
    },
  });
  let f: Deno.FsFile;
  try {
    f = await Deno.open(file, { read: true });
  } catch (e) {
    return fail(
      e instanceof Deno.errors.NotFound
        ? "no such file; pass an existing file to --config"
        : `${e instanceof Error ? e.message : String(e)}`,
    );
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    const buf = new Uint8Array(64 * 1024);
    while (total <= MAX_CONFIG_BYTES) {
      const n = await f.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
      total += n;
    }
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  } finally {
    f.close();
  }
  if (total > MAX_CONFIG_BYTES) {
    return fail(
      `it is larger than ${
        MAX_CONFIG_BYTES / 1024 / 1024
      } MiB; an ha-vip configuration is a few hundred bytes: is this the right file?`,
    );
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.length;
  }
  try {
    return { text: new TextDecoder("utf-8", { fatal: true }).decode(bytes) };
  } catch {
    return fail("it is not UTF-8 text; is this the right file?");
  }
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
  const warnings = unknownEnvWarnings(env);
  const { provided, brokenFile } = await collect(sources, env, issues);
  const { raw, origins } = assemble(provided, sources, brokenFile, issues);
  const config = validate(raw, origins, issues);
  fillComputedDefaults(config, origins);
  warnings.push(...configWarnings(config, origins));
  return { config, warnings, origins };
}

type Provided = Map<string, { value: unknown; origin: string }>;

/** The values given, file < environment < flags; file problems join `issues`. */
async function collect(
  sources: ConfigSources,
  env: Record<string, string>,
  issues: ConfigIssue[],
): Promise<{ provided: Provided; brokenFile: boolean }> {
  const provided: Provided = new Map();
  let brokenFile = false;
  const file = sources.file ??
    (isEmpty(env[ENV_CONFIG]) ? undefined : env[ENV_CONFIG]);
  if (file !== undefined) {
    const read = await readConfigFile(file);
    if ("issue" in read) {
      issues.push(read.issue);
    } else {
      const fromFile = await readYaml(read.text, file);
      issues.push(...fromFile.issues);
      // A file that does not parse may well hold the required fields.
      brokenFile = fromFile.unparsable;
      if (brokenFile) throw new ConfigError(issues);
      for (const [p, v] of fromFile.values) provided.set(p, v);
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
  return { provided, brokenFile };
}

/** `HA_VIP_*` variables that name no setting (only warned about). */
function unknownEnvWarnings(env: Record<string, string>): string[] {
  const known = new Set(FIELDS.map((f) => envName(f.path)));
  known.add(ENV_CONFIG);
  const warnings: string[] = [];
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
  return warnings;
}

/** Every field's value (given, default or placeholder) and where it came from. */
function assemble(
  provided: Provided,
  sources: ConfigSources,
  brokenFile: boolean,
  issues: ConfigIssue[],
): { raw: Record<string, unknown>; origins: Record<string, string> } {
  const raw: Record<string, unknown> = {};
  const origins: Record<string, string> = {};
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
  return { raw, origins };
}

/** The schema and the cross-field checks; throws every issue at once. */
function validate(
  raw: Record<string, unknown>,
  origins: Record<string, string>,
  issues: ConfigIssue[],
): Config {
  const originOf = (path: string) =>
    origins[path] === "default" ? undefined : origins[path];
  const reported = new Set(issues.map((i) => i.path));
  const before = issues.length;
  const config = validateFields(raw, (path, message) => {
    // A missing required field is already reported with how to set it.
    if (reported.has(path)) return;
    if (issues.some((i) => i.path === path && i.message === message)) return;
    issues.push({ path, message, origin: originOf(path) });
  });
  if (issues.length > 0 || before > 0) throw new ConfigError(issues);
  return config as Config;
}

/** Defaults computed from other fields: the VIP lifetime, the health URL. */
function fillComputedDefaults(
  config: Config,
  origins: Record<string, string>,
): void {
  if (config.announce.vip_lifetime === undefined) {
    if (config.election.mode === "lease") {
      // As long as fencing allows: the VIP must be gone before another node
      // may take the lease (lib/lease/_fencing.ts).
      const plan = fencingPlan({
        durationMs: config.election.lease.duration,
        renewDeadlineMs: config.election.lease.renew_deadline,
        retryPeriodMs: config.election.lease.retry_period,
      });
      config.announce.vip_lifetime = "error" in plan
        ? 0
        : plan.lifetimeS * 1000;
      origins["announce.vip_lifetime"] =
        "default (fenced lifetime from election.lease.duration)";
    } else {
      // Just past the backups' takeover time (3 intervals + skew < 3
      // intervals + 1 s): a crashed node's VIP lingers briefly, and never
      // with a gap.
      config.announce.vip_lifetime = autoVipLifetime(
        config.election.vrrp.advert_interval,
      );
      origins["announce.vip_lifetime"] =
        "default (from election.vrrp.advert_interval)";
    }
  }
  if (config.health.url === undefined) {
    config.health.url = config.k8s.in_cluster
      ? "https://127.0.0.1:6443"
      : config.k8s.api_server;
    origins["health.url"] = config.k8s.in_cluster
      ? "default (in-cluster: the local API server)"
      : "k8s.api_server";
  }
}

/** What a valid configuration should still tell the operator. */
function configWarnings(
  config: Config,
  origins: Record<string, string>,
): string[] {
  const warnings: string[] = [];
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
  const metrics = config.observe.metrics_address;
  const exposed = metrics === undefined ? undefined : exposure(metrics);
  if (metrics !== undefined && exposed) {
    warnings.push(
      `observe.metrics_address ${metrics} ${exposed}: /metrics and /status (node, VIP, health details) are served there without authentication; use 127.0.0.1:${
        metrics.split(":").at(-1)
      } unless a scraper on another host needs it, and then limit who can reach the port`,
    );
  }
  if (!config.k8s.enabled) {
    warnings.push(
      "k8s.enabled is false: API server health is not checked and every node counts as healthy",
    );
  }
  return warnings;
}

/**
 * How far a `host:port` listener reaches beyond this host, in words, or
 * `undefined` for loopback. A name other than `localhost` may resolve to
 * anything, so it counts as reachable.
 */
function exposure(address: string): string | undefined {
  const m = /^(?:\[([^\]]*)\]|([^:]*)):\d+$/.exec(address);
  const host = (m?.[1] ?? m?.[2] ?? "").toLowerCase();
  if (host === "" || host === "0.0.0.0" || host === "::") {
    return "binds every interface";
  }
  if (host === "localhost" || host === "::1") return undefined;
  const v4 = parseIpv4(host);
  if (v4 && v4[0] === 127) return undefined;
  return `binds ${host}, which is not a loopback address`;
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
        : f.kind === "cidr_list" && Array.isArray(v) && v.length === 1
        // One VIP prints as it always did; dual stack as a list.
        ? v[0]
        : v,
    );
  }
  return out;
}

export { showValue };
export type { FieldSpec };

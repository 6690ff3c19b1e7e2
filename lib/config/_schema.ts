/**
 * The configuration schema: the checks of {@link FIELDS}, field by field, with
 * field checks that name the bad value and what would be valid, and the
 * checks that span several fields.
 */
import { REDACTED } from "../observe/mod.ts";
import {
  type Cidr,
  interfaceNameProblem,
  notHostInSubnetReason,
  notUnicastReason,
  parseCidr,
  parseIpv4,
  parseIpv6,
} from "./_address.ts";
import { formatDuration, parseDuration } from "./_duration.ts";
import {
  describeRange,
  type FieldKind,
  FIELDS,
  type FieldSpec,
} from "./_fields.ts";
import { fencingPlan, JITTER_FACTOR } from "../lease/mod.ts";
import { vrrpChecks } from "./_vrrp.ts";

/** The validated configuration. Durations are milliseconds. */
export interface Config {
  /**
   * The VIP with its prefix length (`192.168.1.100/24`), or one IPv4 and
   * one IPv6 VIP (dual stack).
   */
  vip: string[];
  /** The interface that carries it. */
  interface: string;
  /** Which node holds it: the backend and its settings. */
  election: {
    mode: "vrrp" | "lease";
    node_name: string;
    vrrp: {
      vrid: number;
      priority: number;
      advert_interval: number;
      preempt: boolean;
      unicast_peers: string[];
      /** At most one per VIP family; empty: found on the interface. */
      source_address: string[];
      /** keepalived 2.4's `auth_hmac`; on when `keys` has any. */
      auth: {
        /** `ID:FILE` key specifications. */
        keys: string[];
        active_key?: number;
        /** Unset: `time`. */
        anti_replay?: "time" | "monotonic";
        /** ms; unset: max(3 × advert_interval, 5 s). */
        time_window?: number;
        /** Unset: `enforce`. */
        mode?: "enforce" | "permissive" | "receive-only";
      };
    };
    lease: {
      name: string;
      namespace: string;
      duration: number;
      renew_deadline: number;
      retry_period: number;
    };
  };
  /** The local API server check. */
  health: {
    url?: string;
    interval: number;
    timeout: number;
    stability_window: number;
    tls_server_name: string;
    insecure_skip_tls_verify: boolean;
  };
  /** Credentials and whether health gating is on. */
  k8s: {
    enabled: boolean;
    in_cluster: boolean;
    api_server: string;
    token?: string;
    token_file?: string;
    ca_cert?: string;
  };
  /** The VIP's lifetime and its announcements. */
  announce: {
    garp_count: number;
    garp_interval: number;
    refresh_interval: number;
    vip_lifetime: number;
  };
  /** The local control channel (`ha-vip handoff`). */
  control: {
    /** Unix socket path, or `off`. */
    socket: string;
  };
  /** How the daemon's process runs. */
  process: {
    realtime_priority: number;
  };
  /** Logs, metrics and status. */
  observe: {
    log_format: "text" | "json";
    log_level: "debug" | "info" | "warn" | "error";
    metrics_address?: string;
  };
}

type Coerced = { value: unknown } | { error: string };

/** Shows a value in an error message, never a secret. */
export function showValue(field: FieldSpec, value: unknown): string {
  if (field.secret) return REDACTED;
  if (field.kind === "url" && typeof value === "string") {
    // `https://user:password@host`: the part before "@" is a credential.
    return JSON.stringify(
      value.replace(/^([^:/?#]*:\/\/)[^/?#]*@/, `$1${REDACTED}@`),
    );
  }
  return typeof value === "string"
    ? JSON.stringify(value)
    : String(JSON.stringify(value) ?? value);
}

const TRUE = new Set(["true", "yes", "on", "1"]);
const FALSE = new Set(["false", "no", "off", "0"]);

function coerceInteger(f: FieldSpec, raw: unknown, shown: string): Coerced {
  const n = typeof raw === "number"
    ? raw
    : typeof raw === "string" && /^-?\d+$/.test(raw.trim())
    ? Number(raw)
    : NaN;
  if (!Number.isInteger(n)) {
    return {
      error: `${shown} is not a whole number; use ${describeRange(f)}`,
    };
  }
  if (
    (f.min !== undefined && n < f.min) || (f.max !== undefined && n > f.max)
  ) {
    return {
      error: `${shown} is out of range; use a whole number ${describeRange(f)}`,
    };
  }
  return { value: n };
}

function coerceBoolean(_f: FieldSpec, raw: unknown, shown: string): Coerced {
  if (typeof raw === "boolean") return { value: raw };
  if (typeof raw === "string") {
    const s = raw.trim().toLowerCase();
    if (TRUE.has(s)) return { value: true };
    if (FALSE.has(s)) return { value: false };
  }
  return { error: `${shown} is not a boolean; use true or false` };
}

function coerceDuration(f: FieldSpec, raw: unknown, shown: string): Coerced {
  if (typeof raw !== "string") {
    return {
      error:
        `${shown} has no unit; write it with one, e.g. "500ms", "2s" or "1m"`,
    };
  }
  const ms = parseDuration(raw);
  if (ms === undefined) {
    return {
      error:
        `${shown} is not a duration; use a number with a unit: 500ms, 2s, 1m`,
    };
  }
  if (
    (f.min !== undefined && ms < f.min) ||
    (f.max !== undefined && ms > f.max)
  ) {
    return {
      error: `${shown} is out of range; use ${describeRange(f)}`,
    };
  }
  return { value: ms };
}

function coerceList(f: FieldSpec, raw: unknown, shown: string): Coerced {
  const items = typeof raw === "string"
    ? raw.split(",").map((s) => s.trim()).filter((s) => s !== "")
    : Array.isArray(raw)
    ? raw
    : undefined;
  if (!items || items.some((i) => typeof i !== "string")) {
    return {
      error: `${
        items && items.length > 8 ? "the list" : shown
      } is not a list of ${
        f.flag === "auth-key" ? "ID:FILE entries" : "addresses"
      }; use a YAML list or comma-separated text`,
    };
  }
  if (f.max !== undefined && items.length > f.max) {
    // Not the value itself: it is long by definition.
    return {
      error: `has ${items.length} entries; at most ${f.max} are allowed${
        f.path === "election.vrrp.unicast_peers"
          ? " (list each other node once)"
          : ""
      }`,
    };
  }
  return { value: items };
}

function coerceEnum(f: FieldSpec, raw: unknown, shown: string): Coerced {
  if (typeof raw === "string" && f.values!.includes(raw)) {
    return { value: raw };
  }
  return {
    error: `${shown} is not valid; use one of ${f.values!.join(", ")}`,
  };
}

function coerceCidr(_f: FieldSpec, raw: unknown, shown: string): Coerced {
  if (typeof raw === "string" && parseCidr(raw.trim())) {
    return { value: raw.trim() };
  }
  const hint = typeof raw === "string" && !raw.includes("/")
    ? `add the subnet's prefix length, e.g. "${raw}/24"`
    : `use an address with a prefix length, e.g. 192.168.1.100/24 or fd00::100/64`;
  return {
    error: `${shown} is not an address with a prefix length; ${hint}`,
  };
}

/** One VIP, or a list of them (dual stack): each as {@link coerceCidr}. */
function coerceCidrList(f: FieldSpec, raw: unknown, shown: string): Coerced {
  const items = typeof raw === "string"
    ? raw.split(",").map((x) => x.trim()).filter((x) => x !== "")
    : Array.isArray(raw)
    ? raw
    : undefined;
  if (!items || items.length === 0) {
    return {
      error:
        `${shown} is not an address with a prefix length or a list of them; use e.g. 192.168.1.100/24, or [192.168.1.100/24, fd00::100/64] for dual stack`,
    };
  }
  if (f.max !== undefined && items.length > f.max) {
    return {
      error:
        `${shown} lists ${items.length} addresses; use one, or one IPv4 and one IPv6 address (dual stack)`,
    };
  }
  const out: string[] = [];
  for (const item of items) {
    const one = coerceCidr(f, item, showValue(f, item));
    if ("error" in one) return one;
    out.push(one.value as string);
  }
  return { value: out };
}

function coerceIp(_f: FieldSpec, raw: unknown, shown: string): Coerced {
  if (typeof raw === "string" && (parseIpv4(raw) || parseIpv6(raw))) {
    return { value: raw };
  }
  return { error: `${shown} is not an IP address; use e.g. 192.168.1.11` };
}

function coerceUrl(_f: FieldSpec, raw: unknown, shown: string): Coerced {
  if (typeof raw === "string") {
    try {
      const u = new URL(raw);
      if (u.username !== "" || u.password !== "") {
        return {
          error:
            `${shown} carries credentials in the URL, which would show in logs and the process list; remove them and use k8s.token_file (or k8s.token)`,
        };
      }
      if (
        (u.protocol === "https:" || u.protocol === "http:") &&
        u.hostname !== ""
      ) return { value: raw };
    } catch {
      // reported below
    }
  }
  return {
    error: `${shown} is not an http(s) URL; use e.g. https://127.0.0.1:6443`,
  };
}

function coerceHostport(_f: FieldSpec, raw: unknown, shown: string): Coerced {
  if (typeof raw === "string") {
    const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s]*):(\d{1,5})$/.exec(raw);
    if (m && Number(m[2]) <= 65535) return { value: raw };
  }
  return {
    error: `${shown} is not host:port; use e.g. 127.0.0.1:9480 or :9480`,
  };
}

function coerceIfname(_f: FieldSpec, raw: unknown, shown: string): Coerced {
  if (typeof raw !== "string") {
    return { error: `${shown} is not an interface name; use e.g. eth0` };
  }
  const problem = interfaceNameProblem(raw);
  if (problem) {
    return {
      error:
        `${shown} ${problem}; use the name \`ip link\` shows, e.g. eth0 or bond0.100`,
    };
  }
  return { value: raw };
}

function coerceString(_f: FieldSpec, raw: unknown, shown: string): Coerced {
  if (typeof raw === "string" && raw.length > 0) return { value: raw };
  if (typeof raw === "number") return { value: String(raw) };
  return { error: `${shown} is not valid; use non-empty text` };
}

/** How each kind of field reads its value. */
const COERCE: Readonly<
  Record<FieldKind, (f: FieldSpec, raw: unknown, shown: string) => Coerced>
> = {
  integer: coerceInteger,
  boolean: coerceBoolean,
  duration: coerceDuration,
  list: coerceList,
  enum: coerceEnum,
  cidr: coerceCidr,
  cidr_list: coerceCidrList,
  ip: coerceIp,
  url: coerceUrl,
  hostport: coerceHostport,
  ifname: coerceIfname,
  string: coerceString,
};

/**
 * Turns a value from any source (typed YAML, or text from a flag or the
 * environment) into the field's type, or an error sentence without the path.
 */
export function coerceField(f: FieldSpec, raw: unknown): Coerced {
  return COERCE[f.kind](f, raw, showValue(f, raw));
}

// deno-lint-ignore no-explicit-any
type Loose = any;

/**
 * Checks that involve more than one field. They also run when some fields
 * are invalid (then on whatever did parse), so one run reports everything.
 */
export function crossChecks(
  c: Loose,
  issue: (path: string, message: string) => void,
): void {
  const vips: Cidr[] = (Array.isArray(c?.vip) ? c.vip : [])
    .map((v: unknown) => typeof v === "string" ? parseCidr(v) : undefined)
    .filter((v: Cidr | undefined) => v !== undefined);
  // In this order, so the issues are listed as they always were.
  for (const vip of vips) checkVipPrefix(vip, issue);
  checkAdvertInterval(c, issue);
  for (const vip of vips) checkVip(vip, issue);
  vrrpChecks(c, vips, issue);
  checkLease(c, issue);
  checkControl(c, issue);
  checkOthers(c, issue);
}

const isNumber = (v: unknown): v is number => typeof v === "number";

/** `"192.168.1.100/24"`: a VIP as its text, for messages. */
function shownVip(vip: Cidr): string {
  return JSON.stringify(`${vip.address}/${vip.prefixLength}`);
}

/** An IPv4 VIP needs its subnet's prefix length. */
function checkVipPrefix(
  vip: Cidr,
  issue: (path: string, message: string) => void,
): void {
  if (vip.family === 4 && vip.prefixLength === 0) {
    issue(
      "vip",
      `${shownVip(vip)} has prefix length 0; use the subnet's prefix, e.g. /24`,
    );
  }
}

/** VRRPv3 counts the advertisement interval in centiseconds. */
function checkAdvertInterval(
  c: Loose,
  issue: (path: string, message: string) => void,
): void {
  const interval = c?.election?.vrrp?.advert_interval;
  if (isNumber(interval) && interval % 10 !== 0) {
    const near = Math.max(10, Math.round(interval / 10) * 10);
    issue(
      "election.vrrp.advert_interval",
      `${
        formatDuration(interval)
      } is not a multiple of 10ms (VRRPv3 counts centiseconds); use e.g. ${
        formatDuration(near)
      }`,
    );
  }
}

/** The VIP itself: a unicast host address of its subnet. */
function checkVip(
  vip: Cidr,
  issue: (path: string, message: string) => void,
): void {
  const why = notUnicastReason(vip.bytes) ?? notHostInSubnetReason(vip);
  if (why) {
    issue(
      "vip",
      `${
        shownVip(vip)
      } ${why}; a VIP must be a free unicast address of the nodes' subnet, e.g. 192.168.1.100/24`,
    );
  }
}

/** `control.socket`: an absolute path a unix socket can have, or off. */
function checkControl(
  c: Loose,
  issue: (path: string, message: string) => void,
): void {
  const path = c?.control?.socket;
  if (typeof path !== "string" || path === "off") return;
  const bytes = new TextEncoder().encode(path).length;
  if (!path.startsWith("/")) {
    issue(
      "control.socket",
      `${
        JSON.stringify(path)
      } is not an absolute path; use e.g. /run/ha-vip/control.sock, or off`,
    );
  } else if (bytes > 107) {
    issue(
      "control.socket",
      `is ${bytes} bytes long; a unix socket path has at most 107`,
    );
  }
}

/** `election.lease` and the mode. */
function checkLease(
  c: Loose,
  issue: (path: string, message: string) => void,
): void {
  const num = isNumber;
  const lease = c?.election?.lease ?? {};
  const k8s = c?.k8s ?? {};
  if (
    num(lease.renew_deadline) && num(lease.duration) &&
    lease.renew_deadline >= lease.duration
  ) {
    issue(
      "election.lease.renew_deadline",
      `${
        formatDuration(lease.renew_deadline)
      } must be shorter than election.lease.duration (${
        formatDuration(lease.duration)
      }), or two holders could overlap`,
    );
  }
  leaseTimingChecks(c, issue);
  const vips: unknown[] = Array.isArray(c?.vip) ? c.vip : [];
  const v6 = vips.filter((v) =>
    typeof v === "string" && parseCidr(v)?.family === 6
  );
  if (c?.election?.mode === "lease" && v6.length > 0) {
    // The handover's probe is ARP (RFC 5227); an IPv6 VIP would need DAD's
    // neighbour solicitations, and the fencing argument is made for one
    // address. VRRP mode has IPv6 and dual stack.
    issue(
      "vip",
      `${
        JSON.stringify(v6[0])
      }: lease mode is IPv4 only (one IPv4 VIP); use election.mode: vrrp for an IPv6 VIP or dual stack`,
    );
  }
  if (c?.election?.mode === "lease" && k8s.enabled === false) {
    issue(
      "k8s.enabled",
      "false does not work with election.mode: lease, which needs the API server; set k8s.enabled: true or use election.mode: vrrp",
    );
  }
}

/** Health timing, the VIP lifetime and the token. */
function checkOthers(
  c: Loose,
  issue: (path: string, message: string) => void,
): void {
  const num = isNumber;
  const health = c?.health ?? {};
  const k8s = c?.k8s ?? {};
  if (
    num(health.timeout) && num(health.interval) &&
    health.timeout > health.interval
  ) {
    issue(
      "health.timeout",
      `${formatDuration(health.timeout)} is longer than health.interval (${
        formatDuration(health.interval)
      }); use at most the interval`,
    );
  }
  const lifetime = c?.announce?.vip_lifetime;
  if (num(lifetime) && lifetime % 1000 !== 0) {
    issue(
      "announce.vip_lifetime",
      `${
        formatDuration(lifetime)
      } is not whole seconds (the kernel counts lifetimes in seconds); use e.g. 5s`,
    );
  }
  if (typeof k8s.token === "string") {
    const problem = tokenProblem(k8s.token);
    if (problem) issue("k8s.token", problem);
  }
  if (
    k8s.in_cluster !== true && typeof k8s.token === "string" &&
    typeof k8s.token_file === "string"
  ) {
    issue(
      "k8s.token",
      "is set together with k8s.token_file; set only one of them",
    );
  }
}

/**
 * Why a bearer token cannot be sent in an `Authorization` header (visible
 * ASCII only, once surrounding white space is trimmed), or `undefined`. The
 * message gives a position, never the token. A token *file* is checked the
 * same way each time it is read (lib/k8s): at `check` time it may not exist
 * yet (kubeadm writes it later), so `check` does not read it.
 */
function tokenProblem(token: string): string | undefined {
  const t = token.trim();
  for (let i = 0; i < t.length; i++) {
    const ch = t.charCodeAt(i);
    if (ch < 0x21 || ch > 0x7e) {
      const what = ch === 0x0a || ch === 0x0d
        ? "a line break"
        : ch < 0x21 || ch === 0x7f
        ? "white space or a control character"
        : "a non-ASCII character";
      return `has ${what} at position ${i} (length ${t.length}), which cannot be sent in an HTTP header; a token is one line of visible ASCII (copy it again, e.g. from \`kubectl create token\`)`;
    }
  }
  return undefined;
}

/**
 * The lease timing: client-go's `duration > renew_deadline > 1.2 ×
 * retry_period` (the holder must be able to retry, jittered, before it
 * gives up, and give up before anyone may take over), whole seconds for
 * `leaseDurationSeconds`, and a duration long enough for a fenced VIP
 * lifetime (lib/lease/_fencing.ts). In lease mode an explicit
 * `announce.vip_lifetime` may shorten the fenced lifetime, never lengthen
 * it.
 */
function leaseTimingChecks(
  c: Loose,
  issue: (path: string, message: string) => void,
): void {
  const num = (v: unknown): v is number => typeof v === "number";
  const lease = c?.election?.lease ?? {};
  const { duration, renew_deadline: renew, retry_period: retry } = lease;
  if (num(retry) && num(renew) && renew <= JITTER_FACTOR * retry) {
    issue(
      "election.lease.renew_deadline",
      `${
        formatDuration(renew)
      } must be longer than ${JITTER_FACTOR} × election.lease.retry_period (${
        formatDuration(retry)
      }) = ${
        formatDuration(Math.ceil(JITTER_FACTOR * retry))
      }, so the holder can retry (client-go's jittered period) before it gives up; shorten retry_period or lengthen renew_deadline`,
    );
  }
  if (num(duration) && duration % 1000 !== 0) {
    issue(
      "election.lease.duration",
      `${
        formatDuration(duration)
      } is not whole seconds (the Lease's leaseDurationSeconds is a whole number); use e.g. ${
        formatDuration(Math.max(1000, Math.round(duration / 1000) * 1000))
      }`,
    );
    return;
  }
  if (!num(duration) || !num(retry)) return;
  const plan = fencingPlan({
    durationMs: duration,
    renewDeadlineMs: num(renew) ? renew : duration - 1,
    retryPeriodMs: retry,
  });
  if ("error" in plan) {
    issue(
      "election.lease.duration",
      `${formatDuration(duration)} ${plan.error}`,
    );
    return;
  }
  const lifetime = c?.announce?.vip_lifetime;
  if (
    c?.election?.mode === "lease" && num(lifetime) &&
    lifetime > plan.lifetimeS * 1000
  ) {
    issue(
      "announce.vip_lifetime",
      `${
        formatDuration(lifetime)
      } is longer than the ${plan.lifetimeS}s the VIP may live in lease mode with election.lease.duration ${
        formatDuration(duration)
      } (it must expire before another node may take the lease); leave it unset or use at most ${plan.lifetimeS}s`,
    );
  }
}

/**
 * Every field of {@link FIELDS} read from the merged raw values by
 * {@link coerceField}, in table order, then the cross-field checks on
 * whatever did parse: all problems reported at once through `issue`. The
 * result holds the fields that parsed (a complete {@link Config} when no
 * issue was reported). Fields missing from `raw` stay missing: defaults and
 * required fields are the loader's business.
 *
 * This is the whole schema: the field table drives it, as it drives the
 * flags, the environment and the README reference. (It replaced a zod
 * schema built from the same table, which cost ~8 MiB of resident memory
 * and ~16 MiB of peak in the daemon for no check of its own.)
 */
export function validateFields(
  raw: Record<string, unknown>,
  issue: (path: string, message: string) => void,
): Loose {
  const out: Record<string, unknown> = {};
  for (const f of FIELDS) {
    const keys = f.path.split(".");
    // deno-lint-ignore no-explicit-any
    const v = keys.reduce<any>((n, k) => n?.[k], raw);
    if (v === undefined) continue;
    const r = coerceField(f, v);
    if ("error" in r) {
      issue(f.path, r.error);
      continue;
    }
    let node = out;
    for (const k of keys.slice(0, -1)) {
      node = (node[k] ??= {}) as Record<string, unknown>;
    }
    node[keys.at(-1)!] = r.value;
  }
  crossChecks(out, issue);
  return out;
}

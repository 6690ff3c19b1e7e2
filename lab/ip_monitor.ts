/**
 * Parsers for `ip -ts monitor address` and `ip -ts monitor neigh` lines
 * (iproute2 6.x text output). Pure: no I/O.
 *
 * `ip monitor` stamps each event when it reads it from netlink, which is
 * the only way to see sub-millisecond events (two holders for under 1 ms)
 * that polling can never catch.
 *
 * @module
 */

/**
 * The argv prefix every `ip monitor` of the lab runs under: realtime
 * priority 2, above the daemons' default 1 (`process.realtime_priority`).
 * A monitor stamps an event when it gets to read it; at normal priority
 * beside realtime daemons on a busy runner its stamps trail the kernel by
 * milliseconds, and two monitors' skew then looks like a moment with no
 * holder (or two). A monitor blocks on its netlink socket between events.
 */
export const MONITOR_PRIORITY_ARGV: readonly string[] = ["chrt", "--rr", "2"];

/** An address event for one IPv4 or IPv6 address. */
export interface AddrEvent {
  /** Epoch ms (from the `[...]` stamp; `ip` prints local time). */
  t: number;
  /** true: added or refreshed (RTM_NEWADDR); false: deleted. */
  present: boolean;
  /** Interface name. */
  ifname: string;
  /** The address without prefix length. */
  address: string;
  /** Prefix length. */
  prefixLength: number;
  /** `dynamic` (finite valid lifetime) was shown. */
  dynamic: boolean;
}

/** A neighbour event. */
export interface NeighEvent {
  t: number;
  /** The neighbour's IP address. */
  address: string;
  ifname: string;
  /** The MAC the entry points at, null when it has none (INCOMPLETE/FAILED). */
  mac: string | null;
  /** NUD state(s) as printed, e.g. `REACHABLE`, `STALE`, `FAILED`. */
  state: string;
  /** The entry was deleted. */
  deleted: boolean;
}

const STAMP = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?\]\s*/;

/**
 * Splits the `[2026-11-21T00:13:49.054366] ` prefix of `ip -ts` output into
 * an epoch-ms time and the rest. `ip` prints local time, which `Date`
 * parses as local time too (same machine, same TZ). Returns null for a
 * line without a stamp (continuation lines such as `valid_lft ...`).
 */
export function splitStamp(line: string): { t: number; rest: string } | null {
  const m = STAMP.exec(line);
  if (!m) return null;
  const base = new Date(m[1]).getTime();
  if (Number.isNaN(base)) return null;
  const frac = m[2] ? Number(`0.${m[2]}`) * 1000 : 0;
  return { t: base + frac, rest: line.slice(m[0].length) };
}

/**
 * Parses one `ip -ts monitor address` line, e.g.
 * `[ts] Deleted 2: eth0    inet 10.254.9.100/24 scope global secondary dynamic eth0`
 * or `[ts] 2: eth0    inet6 fd00:254:9::100/64 scope global nodad deprecated dynamic`.
 * Returns null for anything else (continuation lines, garbage).
 */
export function parseAddrLine(line: string): AddrEvent | null {
  const s = splitStamp(line);
  if (!s) return null;
  const m = /^(Deleted\s+)?\d+:\s+(\S+)\s+inet6?\s+([0-9a-f.:]+)\/(\d+)\b(.*)$/
    .exec(s.rest);
  if (!m) return null;
  return {
    t: s.t,
    present: m[1] === undefined,
    ifname: m[2],
    address: m[3],
    prefixLength: Number(m[4]),
    dynamic: /\bdynamic\b/.test(m[5]),
  };
}

/**
 * Parses one `ip -ts monitor neigh` line, e.g.
 * `[ts] 10.254.9.100 dev eth0 lladdr 02:6c:61:62:00:0b REACHABLE` or
 * `[ts] Deleted 10.254.9.100 dev eth0 FAILED`. Returns null otherwise.
 */
export function parseNeighLine(line: string): NeighEvent | null {
  const s = splitStamp(line);
  if (!s) return null;
  const m = /^(Deleted\s+|miss\s+)?(\S+)\s+dev\s+(\S+)(.*)$/.exec(s.rest);
  if (!m) return null;
  const tail = m[4];
  const mac = /\blladdr\s+([0-9a-f]{2}(?::[0-9a-f]{2}){5})\b/i.exec(tail);
  const states = tail.match(
    /\b(INCOMPLETE|REACHABLE|STALE|DELAY|PROBE|FAILED|NOARP|PERMANENT|NONE)\b/g,
  );
  return {
    t: s.t,
    address: m[2],
    ifname: m[3],
    mac: mac ? mac[1].toLowerCase() : null,
    state: states ? states.join(",") : "",
    deleted: m[1]?.startsWith("Deleted") ?? false,
  };
}

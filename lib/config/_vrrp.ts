/**
 * The checks of the VRRP section that span several fields: VIP families
 * (dual stack), advertisement sources, unicast peers, and authentication.
 *
 * @module
 */

import {
  type Cidr,
  notUnicastReason,
  parseIpv4,
  parseIpv6,
} from "./_address.ts";
import { parseKeySpec } from "../vrrp_auth/mod.ts";

// deno-lint-ignore no-explicit-any
type Loose = any;

type Issue = (path: string, message: string) => void;

function familyOf(text: string): 4 | 6 | undefined {
  if (parseIpv4(text)) return 4;
  if (parseIpv6(text)) return 6;
  return undefined;
}

function isLinkLocal(text: string): boolean {
  const b = parseIpv6(text);
  return b !== undefined && b[0] === 0xfe && (b[1] & 0xc0) === 0x80;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x) => typeof x === "string") : [];
}

/**
 * Dual stack is one IPv4 and one IPv6 VIP at most: each family is its own
 * VRRP virtual router (RFC 5798), and a second address of one family adds
 * nothing a control-plane endpoint needs (run a second ha-vip with its own
 * VRID for that).
 */
function checkVipFamilies(vips: Cidr[], issue: Issue): void {
  for (const family of [4, 6] as const) {
    const same = vips.filter((v) => v.family === family);
    if (same.length > 1) {
      issue(
        "vip",
        `lists ${same.length} IPv${family} VIPs (${
          same.map((v) => v.address).join(", ")
        }); use one IPv4 and at most one IPv6 VIP (dual stack)`,
      );
    }
  }
}

function checkSources(
  sources: string[],
  families: Set<number>,
  vips: Cidr[],
  issue: Issue,
): void {
  const seen = new Set<number>();
  for (const source of sources) {
    const family = familyOf(source);
    const why = family === undefined
      ? "is not an IP address; use this node's own address, e.g. 192.168.1.11"
      : seen.has(family)
      ? `is a second IPv${family} source; give at most one per VIP family`
      : !families.has(family)
      ? `is IPv${family}, but no IPv${family} VIP is configured`
      : family === 6 && !isLinkLocal(source)
      ? "is not link-local; IPv6 VRRP is sent from the interface's link-local address (fe80::...), RFC 5798 §5.1.2.1"
      : family === 4 && notUnicastReason(parseIpv4(source)!)
      ? notUnicastReason(parseIpv4(source)!)
      : vips.some((v) => v.address === source)
      ? "is the VIP itself; use this node's own address on the interface"
      : undefined;
    if (why) {
      issue("election.vrrp.source_address", `${JSON.stringify(source)} ${why}`);
    }
    if (family !== undefined) seen.add(family);
  }
}

function checkPeers(
  peers: string[],
  sources: string[],
  families: Set<number>,
  vips: Cidr[],
  issue: Issue,
): void {
  const seen = new Set<string>();
  const peerFamilies = new Set<number>();
  for (const peer of peers) {
    const family = familyOf(peer);
    const why = family === undefined
      ? "is not an IP address; use e.g. 192.168.1.12 (IPv6: the peer's link-local fe80::... address, without %zone)"
      : !families.has(family)
      ? `is IPv${family}, but no IPv${family} VIP is configured`
      : family === 6 && !isLinkLocal(peer)
      ? "is not link-local; IPv6 peers are addressed by their link-local address (fe80::...), the source of their adverts"
      : family === 4 && notUnicastReason(parseIpv4(peer)!)
      ? notUnicastReason(parseIpv4(peer)!)
      : seen.has(peer)
      ? "is listed twice; list each peer once"
      : sources.includes(peer)
      ? "is this node's own election.vrrp.source_address; list only the other nodes"
      : vips.some((v) => v.address === peer)
      ? "is the VIP; list the other nodes' own addresses"
      : undefined;
    if (why) {
      // Duplicates would double every advertisement; this node's own
      // address would make it hear itself as a peer.
      issue("election.vrrp.unicast_peers", `${JSON.stringify(peer)} ${why}`);
    }
    seen.add(peer);
    if (family !== undefined) peerFamilies.add(family);
  }
  if (peers.length === 0) return;
  for (const family of families) {
    if (!peerFamilies.has(family)) {
      issue(
        "election.vrrp.unicast_peers",
        `lists no IPv${family} peer, but an IPv${family} VIP is configured; list the peers of each VIP family (unicast applies to both)`,
      );
    }
  }
}

function checkAuth(auth: Loose, issue: Issue): void {
  const keys = strings(auth?.keys);
  const ids = new Set<number>();
  for (const text of keys) {
    const spec = parseKeySpec(text);
    if ("error" in spec) {
      issue("election.vrrp.auth.keys", spec.error);
      continue;
    }
    if (ids.has(spec.id)) {
      issue(
        "election.vrrp.auth.keys",
        `key id ${spec.id} is given twice; give each key its own id`,
      );
    }
    ids.add(spec.id);
  }
  if (keys.length === 0) {
    // Authentication is off without keys: settings for it would be ignored
    // silently, which is how a group ends up unauthenticated by mistake.
    for (const field of ["active_key", "anti_replay", "time_window", "mode"]) {
      if (auth?.[field] !== undefined) {
        issue(
          `election.vrrp.auth.${field}`,
          "is set, but no key is given, so authentication is off; add election.vrrp.auth.keys (--auth-key ID:FILE) or remove this setting",
        );
      }
    }
    return;
  }
  const active = auth?.active_key;
  if (typeof active === "number" && ids.size > 0 && !ids.has(active)) {
    issue(
      "election.vrrp.auth.active_key",
      `${active} is not among the configured key ids (${
        [...ids].join(", ")
      }); use one of them`,
    );
  }
  if (active === undefined && ids.size > 1) {
    issue(
      "election.vrrp.auth.active_key",
      `is required with several keys (${
        [...ids].join(", ")
      }): say which one signs; every node must have a key before any node signs with it`,
    );
  }
  if (auth?.anti_replay === "monotonic" && auth?.time_window !== undefined) {
    issue(
      "election.vrrp.auth.time_window",
      "is only used with anti_replay: time; remove it or use anti_replay: time",
    );
  }
}

/**
 * The VRRP checks that span fields; `vips` are the VIPs that parsed. They
 * also run when the election is not VRRP: the fields are then unused, and
 * a contradiction is still worth saying.
 */
export function vrrpChecks(c: Loose, vips: Cidr[], issue: Issue): void {
  const vrrp = c?.election?.vrrp ?? {};
  checkVipFamilies(vips, issue);
  const families = new Set<number>(vips.map((v) => v.family));
  const sources = strings(vrrp.source_address);
  checkSources(sources, families, vips, issue);
  checkPeers(strings(vrrp.unicast_peers), sources, families, vips, issue);
  checkAuth(vrrp.auth, issue);
}

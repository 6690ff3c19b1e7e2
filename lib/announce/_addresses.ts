/**
 * The VIP among the interface's addresses: what ha-vip may touch, and when
 * it may hold the VIP at all. Pure: addresses in, verdicts out.
 *
 * - **ha-vip's marks.** Every address ha-vip creates has `preferred_lft 0`
 *   (never a source address) and a finite valid lifetime (it expires by
 *   itself). An address without both is the node's own (static, DHCP,
 *   another tool's) and ha-vip never removes it, and refuses a VIP equal
 *   to it.
 * - **The subnet's primary.** The kernel makes the first address of a
 *   subnet (same prefix length) its *primary*; later ones are secondaries,
 *   and deleting a primary deletes its secondaries too unless
 *   `promote_secondaries` is on. A VIP added while the node has no address
 *   of its own in that subnet becomes the primary, and its prefix route
 *   then uses the VIP as the source address. So the VIP is held only while
 *   the node has its own address in the subnet (a /32 VIP shares its
 *   "subnet" with nobody, and IPv6 has no primaries: both are exempt).
 *
 * @module
 */
import { type Cidr, formatIP, inSubnet, parseIP } from "../ip/mod.ts";
import type { Address } from "../netlink/mod.ts";

/** The kernel's "forever" lifetime. */
const FOREVER = 0xffffffff;
/** IFA_F_SECONDARY. */
const SECONDARY = 0x01;

/** The lifetimes of an address, as the kernel reports them (s). */
export interface Lifetimes {
  /** Valid lifetime left, s (0xffffffff: forever). */
  validLft: number;
  /** Preferred lifetime left, s (0: never a source address). */
  preferredLft: number;
}

/**
 * Whether an address carries ha-vip's marks: `preferred_lft 0` and a
 * finite valid lifetime. Only such an address may ever be removed as a
 * VIP.
 */
export function carriesVipMarks(a: Lifetimes): boolean {
  return a.preferredLft === 0 && a.validLft !== FOREVER;
}

function sameAddress(a: Address, vip: Cidr): boolean {
  if (a.family !== vip.family) return false;
  const bytes = parseIP(a.address).bytes;
  return bytes.length === vip.bytes.length &&
    bytes.every((b, i) => b === vip.bytes[i]);
}

function lifetime(s: number): string {
  return s === FOREVER ? "forever" : `${s}s`;
}

/** The interface's addresses equal to the VIP's (any prefix length). */
export function vipEntries(vip: Cidr, addrs: readonly Address[]): Address[] {
  return addrs.filter((a) => sameAddress(a, vip));
}

/**
 * Why the VIP's address must not be used as a VIP on this interface: it
 * is already one of its addresses without ha-vip's marks (the node's own).
 * Null when there is none.
 */
export function ownAddressConflict(
  vip: Cidr,
  addrs: readonly Address[],
  ifname: string,
): string | null {
  const own = vipEntries(vip, addrs).find((a) => !carriesVipMarks(a));
  if (own === undefined) return null;
  return `${vip.address} is already an address of ${ifname} (${own.address}/${own.prefixLength}, ` +
    `valid ${lifetime(own.validLft)}, preferred ${
      lifetime(own.preferredLft)
    }): ` +
    `the node's own, not a VIP ha-vip created (those have preferred_lft 0 and a finite lifetime); ` +
    `pick an unused address of the subnet as the VIP`;
}

/**
 * Whether the subnet rule applies: IPv4 with a real subnet. A /32 shares
 * its "subnet" with nobody and gets no prefix route; IPv6 has no primary
 * and secondary addresses (deleting one never deletes another).
 */
function hasSubnet(vip: Cidr): boolean {
  return vip.family === 4 && vip.prefixLength < 32;
}

/**
 * The node's own addresses in the VIP's subnet: same family and prefix
 * length, same subnet, not the VIP, not carrying ha-vip's marks (another
 * VIP is nobody's own address).
 */
export function ownSubnetAddresses(
  vip: Cidr,
  addrs: readonly Address[],
): Address[] {
  return addrs.filter((a) =>
    a.family === vip.family && a.prefixLength === vip.prefixLength &&
    !sameAddress(a, vip) && !carriesVipMarks(a) &&
    inSubnet(parseIP(a.address).bytes, vip.bytes, vip.prefixLength)
  );
}

/** The VIP's subnet as text, e.g. `10.0.0.0/24`. */
export function subnetText(vip: Cidr): string {
  const net = vip.bytes.map((b, i) => {
    const bits = Math.max(0, Math.min(8, vip.prefixLength - i * 8));
    return b & ((0xff << (8 - bits)) & 0xff);
  });
  return `${formatIP(net)}/${vip.prefixLength}`;
}

/** One reason the VIP may not be held now. */
export interface HoldBlock {
  /** Which condition: `"source"` (an address the backend needs) or `"subnet"`. */
  cause: string;
  /** For log lines and /status. */
  reason: string;
}

/** An address that must be on the interface while the VIP is held. */
export interface RequiredAddress {
  /** The address text. */
  address: string;
  /** What is wrong without it, e.g. `"cannot advertise: no source address"`. */
  reason: string;
}

/**
 * Everything that forbids holding the VIP with these addresses on the
 * interface: a required address missing (the VRRP source), or no own
 * address in the VIP's subnet. Empty: the VIP may be held.
 */
export function holdBlocks(o: {
  vip: Cidr;
  ifname: string;
  addrs: readonly Address[];
  required?: readonly RequiredAddress[];
}): HoldBlock[] {
  const out: HoldBlock[] = [];
  for (const r of o.required ?? []) {
    if (!o.addrs.some((a) => a.address === r.address)) {
      out.push({
        cause: "source",
        reason: `${r.reason} (${r.address} is not on ${o.ifname})`,
      });
    }
  }
  if (hasSubnet(o.vip) && ownSubnetAddresses(o.vip, o.addrs).length === 0) {
    out.push({
      cause: "subnet",
      reason:
        `no own address in the VIP's subnet ${
          subnetText(o.vip)
        } on ${o.ifname} ` +
        `(holding the VIP would make it that subnet's primary address)`,
    });
  }
  return out;
}

/**
 * The node's addresses that deleting the VIP would take with it when
 * `promote_secondaries` is off: non-empty only when the VIP is its
 * subnet's primary and node addresses are its secondaries.
 */
export function secondariesOfVip(
  vip: Cidr,
  addrs: readonly Address[],
): Address[] {
  const entry = vipEntries(vip, addrs).find((a) =>
    a.prefixLength === vip.prefixLength
  );
  if (entry === undefined || (entry.flags & SECONDARY) !== 0) return [];
  return ownSubnetAddresses(vip, addrs).filter((a) =>
    (a.flags & SECONDARY) !== 0
  );
}

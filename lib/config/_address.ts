/**
 * Address checks for configuration (no DNS: a VIP is an address). Parsing
 * is `lib/ip`'s; the `undefined`-returning forms here are for validation
 * code that asks "is this an address?".
 */
import {
  type Cidr,
  isCidr,
  isIPv4,
  isIPv6,
  parseCidr as parseCidrText,
  parseIPv4,
  parseIPv6,
} from "../ip/mod.ts";

export type { Cidr };

/** Dotted-quad IPv4 text as 4 bytes, or `undefined`. */
export function parseIpv4(text: string): Uint8Array | undefined {
  return isIPv4(text) ? parseIPv4(text) : undefined;
}

/** IPv6 text as 16 bytes, or `undefined`. */
export function parseIpv6(text: string): Uint8Array | undefined {
  return isIPv6(text) ? parseIPv6(text) : undefined;
}

/** `192.168.1.100/24` or `fd00::100/64` (prefix required), or `undefined`. */
export function parseCidr(text: string): Cidr | undefined {
  return isCidr(text) ? parseCidrText(text) : undefined;
}

function inPrefix(
  bytes: Uint8Array,
  prefix: readonly number[],
  length: number,
): boolean {
  for (let bit = 0; bit < length; bit++) {
    const mask = 0x80 >> (bit % 8);
    if ((bytes[bit >> 3] & mask) !== ((prefix[bit >> 3] ?? 0) & mask)) {
      return false;
    }
  }
  return true;
}

/**
 * Why an address cannot be one host's own unicast address (a VIP, a VRRP
 * peer or source), or `undefined` when it can. The reasons are phrased to
 * follow the address: `"224.0.0.18" is a multicast address`.
 *
 * IPv6 link-local (fe80::/10) is refused too: a VIP is the endpoint clients
 * reach from other networks (kubeadm's control-plane endpoint), and a
 * link-local address is neither routed nor usable without a zone (`%eth0`).
 */
export function notUnicastReason(bytes: Uint8Array): string | undefined {
  if (bytes.length === 4) {
    if (bytes.every((b) => b === 0)) return "is the unspecified address";
    if (bytes.every((b) => b === 255)) {
      return "is the limited broadcast address";
    }
    if (bytes[0] === 0) {
      return `is in 0.0.0.0/8 ("this network"), which no host may use`;
    }
    if (bytes[0] === 127) return "is a loopback address (127.0.0.0/8)";
    if (inPrefix(bytes, [224], 4)) {
      return "is a multicast address (224.0.0.0/4)";
    }
    return undefined;
  }
  if (bytes.every((b) => b === 0)) return "is the unspecified address (::)";
  if (bytes.slice(0, 15).every((b) => b === 0) && bytes[15] === 1) {
    return "is the loopback address (::1)";
  }
  if (bytes[0] === 0xff) return "is a multicast address (ff00::/8)";
  if (inPrefix(bytes, [0xfe, 0x80], 10)) {
    return "is a link-local address (fe80::/10): not routed, so not reachable as a VIP";
  }
  if (inPrefix(bytes, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff], 96)) {
    return "is an IPv4-mapped address (::ffff:0:0/96); write the IPv4 address itself";
  }
  return undefined;
}

/**
 * Why a VIP with its prefix length cannot be a host address of that
 * subnet (network or broadcast address, subnet-router anycast), or
 * `undefined`. /31 and /32 (and IPv6 /127, /128) have no such addresses.
 */
export function notHostInSubnetReason(cidr: Cidr): string | undefined {
  const bits = cidr.family === 4 ? 32 : 128;
  if (cidr.prefixLength >= bits - 1) return undefined;
  let zeros = true;
  let ones = true;
  for (let bit = cidr.prefixLength; bit < bits; bit++) {
    const set = (cidr.bytes[bit >> 3] & (0x80 >> (bit % 8))) !== 0;
    if (set) zeros = false;
    else ones = false;
  }
  if (zeros) {
    return cidr.family === 4
      ? `is the network address of its /${cidr.prefixLength} subnet`
      : `is the subnet-router anycast address of its /${cidr.prefixLength} subnet`;
  }
  if (ones && cidr.family === 4) {
    return `is the broadcast address of its /${cidr.prefixLength} subnet`;
  }
  return undefined;
}

const IFNAMSIZ = 16;

/**
 * Why Linux would refuse `name` as an interface name, or `undefined`: the
 * kernel's `dev_valid_name()` wants 1 to 15 bytes, not "." or "..", and no
 * "/", ":", NUL or white space (its `isspace()`, which includes byte 0xa0).
 */
export function interfaceNameProblem(name: string): string | undefined {
  const bytes = new TextEncoder().encode(name);
  if (bytes.length === 0) return "is empty";
  if (bytes.length >= IFNAMSIZ) {
    return `is ${bytes.length} bytes long; Linux interface names have at most ${
      IFNAMSIZ - 1
    }`;
  }
  if (name === "." || name === "..") return "is not a name";
  for (const b of bytes) {
    if (b === 0x2f) return `contains "/"`;
    if (b === 0x3a) {
      return `contains ":" (an alias label like eth0:1 is not an interface; use eth0)`;
    }
    if (b === 0 || b === 0x20 || (b >= 0x09 && b <= 0x0d) || b === 0xa0) {
      return "contains white space or a control character";
    }
  }
  return undefined;
}

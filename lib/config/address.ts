/** IP address text checks for configuration (no DNS: a VIP is an address). */

/** Parses dotted-quad IPv4 text into 4 bytes, or `undefined`. */
export function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    // Leading zeros are refused: "010" is octal to some tools, decimal to others.
    if (!/^(0|[1-9]\d{0,2})$/.test(parts[i])) return undefined;
    const n = Number(parts[i]);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

/** Parses IPv6 text (with `::` and an optional embedded IPv4 tail) into 16 bytes, or `undefined`. */
export function parseIpv6(text: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === "") return [];
    const out: number[] = [];
    const items = s.split(":");
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (i === items.length - 1 && item.includes(".")) {
        const v4 = parseIpv4(item);
        if (!v4) return undefined;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(item)) return undefined;
        out.push(parseInt(item, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return undefined;
  const total = head.length + tail.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return undefined;
  const all = [...head, ...new Array(8 - total).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** An address with its prefix length, as the VIP is configured. */
export interface Cidr {
  address: string;
  bytes: Uint8Array;
  prefixLength: number;
  family: 4 | 6;
}

/** Parses `192.168.1.100/24` or `fd00::100/64`; the prefix is required. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf("/");
  if (slash < 0) return undefined;
  const address = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefixLength = Number(prefixText);
  const v4 = parseIpv4(address);
  if (v4) {
    return prefixLength <= 32
      ? { address, bytes: v4, prefixLength, family: 4 }
      : undefined;
  }
  const v6 = parseIpv6(address);
  if (v6) {
    return prefixLength <= 128
      ? { address, bytes: v6, prefixLength, family: 6 }
      : undefined;
  }
  return undefined;
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

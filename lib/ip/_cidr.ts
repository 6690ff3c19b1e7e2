/**
 * Addresses with a prefix length, as the VIP is configured, and subnet
 * membership. Pure.
 *
 * @module
 */
import {
  AddressParseError,
  type IpFamily,
  parseIPv4,
  parseIPv6,
} from "./_text.ts";

/** An address with its prefix length, as the VIP is configured. */
export interface Cidr {
  /** The address text as given (no prefix length). */
  address: string;
  /** Its 4 or 16 bytes. */
  bytes: Uint8Array;
  /** The prefix length (0-32 or 0-128). */
  prefixLength: number;
  /** 4 or 6. */
  family: IpFamily;
}

/**
 * Parses `192.168.1.100/24` or `fd00::100/64`; the prefix length is
 * required. Throws an {@link AddressParseError} naming what is wrong.
 */
export function parseCidr(text: string): Cidr {
  const kind = "address with a prefix length";
  const slash = text.indexOf("/");
  if (slash < 0) throw new AddressParseError(kind, text, "no /prefix length");
  const address = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const family: IpFamily = address.includes(":") ? 6 : 4;
  const bytes = family === 4 ? parseIPv4(address) : parseIPv6(address);
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
    throw new AddressParseError(kind, text, `prefix length is not 0-${max}`);
  }
  return { address, bytes, prefixLength: Number(prefixText), family };
}

/** Whether `text` parses with {@link parseCidr}. */
export function isCidr(text: string): boolean {
  try {
    parseCidr(text);
    return true;
  } catch (err) {
    if (err instanceof AddressParseError) return false;
    throw err;
  }
}

/** Whether `a` and `b` (same length) agree on their first `prefixLength` bits. */
export function inSubnet(
  a: Uint8Array,
  b: Uint8Array,
  prefixLength: number,
): boolean {
  if (a.length !== b.length) return false;
  for (let bit = 0; bit < prefixLength; bit++) {
    const mask = 0x80 >> (bit % 8);
    if ((a[bit >> 3] & mask) !== (b[bit >> 3] & mask)) return false;
  }
  return true;
}

/**
 * IP and MAC addresses as text and bytes, and addresses with a prefix
 * length. Pure, no I/O, no permissions: the one place ha-vip parses an
 * address (configuration, sockaddr builders, codecs, netlink).
 *
 * ```ts
 * import { formatIP, parseCidr } from "./lib/ip/mod.ts";
 * const vip = parseCidr("192.168.1.100/24"); // throws AddressParseError if bad
 * formatIP(vip.bytes); // "192.168.1.100"
 * ```
 *
 * @module
 */
export {
  AddressParseError,
  formatIP,
  formatIPv4,
  formatIPv6,
  formatMac,
  type IpFamily,
  isIPv4,
  isIPv6,
  parseIP,
  parseIPv4,
  parseIPv6,
  parseMac,
} from "./_text.ts";
export { type Cidr, inSubnet, isCidr, parseCidr } from "./_cidr.ts";

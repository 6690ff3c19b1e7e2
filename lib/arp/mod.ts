/**
 * ARP (RFC 826) for IPv4 VIPs: the codec, pure, and the two gratuitous
 * forms a holder announces with (`lib/announce` sends them).
 *
 * ```ts
 * import { encodeArp, gratuitousRequest } from "./lib/arp/mod.ts";
 * const body = encodeArp(gratuitousRequest("02:00:00:00:00:01", "10.0.0.100"));
 * ```
 *
 * @module
 */
export {
  ARP_REPLY,
  ARP_REQUEST,
  ArpDecodeError,
  type ArpPacket,
  BROADCAST_MAC,
  decodeArp,
  encodeArp,
  gratuitousReply,
  gratuitousRequest,
  probeRequest,
} from "./_codec.ts";

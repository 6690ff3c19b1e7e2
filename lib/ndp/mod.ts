/**
 * IPv6 neighbour advertisements (RFC 4861) for IPv6 VIPs: the codec, pure,
 * and the unsolicited form a holder announces with (`lib/announce` sends
 * it).
 *
 * ```ts
 * import { encodeNeighborAdvertisement, unsolicitedAdvertisement } from "./lib/ndp/mod.ts";
 * const body = encodeNeighborAdvertisement(
 *   unsolicitedAdvertisement("fd00::100", "02:00:00:00:00:01"),
 * );
 * ```
 *
 * @module
 */
export {
  ALL_NODES,
  decodeNeighborAdvertisement,
  encodeNeighborAdvertisement,
  NdpDecodeError,
  type NeighborAdvertisement,
  unsolicitedAdvertisement,
} from "./_codec.ts";

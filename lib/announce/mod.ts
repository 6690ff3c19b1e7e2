/**
 * Announce, the last stage of the loop: the {@link VipHolder} puts the VIP
 * on the interface with a self-expiring lifetime, refreshes it, tells the
 * neighbours ({@link Announcer}: gratuitous ARP for IPv4, unsolicited
 * neighbour advertisements for IPv6, over one socket kept open), and
 * removes exactly it. {@link VipProbe} asks the link whether another host
 * still answers for the VIP (an RFC 5227 ARP probe).
 *
 * ```ts
 * import { announceBurst, openAnnouncer } from "./lib/announce/mod.ts";
 * await using a = openAnnouncer({ ifindex: 2, mac: "02:00:00:00:00:01", ip: "10.0.0.100" });
 * await announceBurst(a, { count: 3, intervalMs: 100 });
 * ```
 *
 * Needs `--allow-ffi`; sending needs CAP_NET_RAW, the VIP CAP_NET_ADMIN.
 *
 * @module
 */
export {
  announceBurst,
  type Announcer,
  type AnnouncerFactory,
  type AnnounceTarget,
  type BurstOptions,
  openAnnouncer,
} from "./_announcer.ts";
export {
  carriesVipMarks,
  type HoldBlock,
  holdBlocks,
  type Lifetimes,
  ownAddressConflict,
  ownSubnetAddresses,
  type RequiredAddress,
  secondariesOfVip,
  subnetText,
  vipEntries,
} from "./_addresses.ts";
export {
  type HolderLink,
  HoldRefusedError,
  type Reconciled,
  VipHolder,
  type VipHolderOptions,
} from "./_holder.ts";
export {
  claimsAddress,
  openVipProbe,
  type Unanswered,
  type UnansweredOptions,
  type VipProbe,
  type VipProbeFactory,
  waitUntilUnanswered,
} from "./_probe.ts";

/**
 * Receive-path validation of VRRPv3 advertisements (RFC 5798 §7.1) as a
 * pure function: a raw IPv4 datagram and our configuration in, either a
 * trusted advertisement or a drop reason out. A dropped packet never
 * reaches the state machine, so it can neither reset nor delay a timer.
 *
 * @module
 */

import {
  decodeAdvertisement,
  type DecodedAdvertisement,
  type Ipv4Packet,
  parseIpv4Packet,
  verifyChecksum,
  VRRP_MULTICAST_GROUP,
  VRRP_TTL,
  VrrpDecodeError,
} from "./_codec.ts";
import { IPPROTO_VRRP } from "../sys/mod.ts";

/**
 * Every reason a received packet is dropped, in the order they are
 * checked. Stable names: use them as counter labels.
 */
export const DROP_REASONS = [
  /** Shorter than its IPv4 header, its total length or its address count. */
  "truncated",
  /** IPv4 header unusable (version, IHL, total length). */
  "ip_header",
  /** Not IP protocol 112. */
  "protocol",
  /** TTL is not 255: the packet crossed a router, or was forged off-link. */
  "ttl",
  /** VRRP version is not 3. */
  "version",
  /** VRRP type is not 1 (advertisement). */
  "type",
  /** Bytes beyond the address list (an IPv6 advert, or junk). */
  "length",
  /** Checksum wrong with either pseudo-header destination. */
  "checksum",
  /** Another virtual router on the same segment: normal, not an error. */
  "vrid",
  /** Our own source address: looped back, or someone else uses our IP. */
  "own",
  /** Source not among the configured unicast peers. */
  "source",
  /** Our VRID but other virtual addresses: a misconfiguration, not obeyed. */
  "address_mismatch",
  /** Max Advertise Interval 0: would make the master-down timer skew-only. */
  "interval_zero",
] as const;

/** Why a received packet was dropped; see {@link DROP_REASONS}. */
export type DropReason = typeof DROP_REASONS[number];

/**
 * True for drops that are routine and need no log line (other VRIDs on a
 * shared segment); every drop should still be counted.
 */
export function isSilentDrop(reason: DropReason): boolean {
  return reason === "vrid";
}

/** What the receive path checks packets against. */
export interface ValidateOptions {
  /** Our virtual router id. */
  vrid: number;
  /** Our virtual IPv4 addresses; the advert must carry exactly these. */
  addresses: readonly string[];
  /** Our primary address: packets from it are our own. */
  primaryIp: string;
  /**
   * If set (unicast mode), only these sources are accepted, like
   * keepalived's `check_unicast_src`.
   */
  allowedSources?: readonly string[];
  /**
   * Require TTL 255 (default true, RFC 5798 §7.1). keepalived skips the
   * check in unicast mode so that peers may be routed; setting this false
   * does the same and gives up the off-link protection.
   */
  checkTtl?: boolean;
}

/** An advertisement that passed every check. */
export interface AcceptedPacket {
  /** Discriminant. */
  ok: true;
  /** The decoded advertisement. */
  advertisement: DecodedAdvertisement;
  /** The sender's address (its primary IP: used for the tie-break). */
  src: string;
  /** The packet's destination (224.0.0.18 or our unicast address). */
  dst: string;
  /**
   * True when the checksum only matched with 224.0.0.18 in the
   * pseudo-header although the packet was unicast: keepalived before
   * 1.3.6 (`old_unicast_checksum`). Accepted, like keepalived does.
   */
  oldUnicastChecksum: boolean;
}

/** A packet that failed a check. */
export interface DroppedPacket {
  /** Discriminant. */
  ok: false;
  /** The counter to increment. */
  drop: DropReason;
  /** One human sentence for a log line. */
  detail: string;
  /** The source address, when the IPv4 header was readable. */
  src?: string;
}

/** The outcome of {@link validateAdvertisement}. */
export type ValidateResult = AcceptedPacket | DroppedPacket;

function drop(reason: DropReason, detail: string, src?: string): DroppedPacket {
  return src === undefined
    ? { ok: false, drop: reason, detail }
    : { ok: false, drop: reason, detail, src };
}

function sameAddressSet(
  got: readonly string[],
  want: readonly string[],
): boolean {
  if (got.length !== want.length) return false;
  const have = new Set(got);
  return have.size === want.length && want.every((a) => have.has(a));
}

/**
 * Checks a raw datagram from the VRRP socket (IPv4 header included) per
 * RFC 5798 §7.1, in this order: IPv4 header, protocol, TTL 255, version,
 * type, length, checksum, VRID, own source, allowed source, addresses,
 * interval. Never throws for any input bytes.
 *
 * Deviations, both from keepalived: a unicast packet whose checksum was
 * computed with 224.0.0.18 in the pseudo-header is accepted (flagged);
 * an address mismatch is dropped even at priority 255 (we never run as
 * address owner, and obeying a misconfigured peer is worse than ignoring
 * it).
 */
export function validateAdvertisement(
  datagram: Uint8Array,
  options: ValidateOptions,
): ValidateResult {
  let ip: Ipv4Packet;
  try {
    ip = parseIpv4Packet(datagram);
  } catch (err) {
    if (err instanceof VrrpDecodeError) return drop(err.reason, err.message);
    throw err;
  }
  const src = ip.src;
  if (ip.protocol !== IPPROTO_VRRP) {
    return drop("protocol", `IP protocol ${ip.protocol}, expected 112`, src);
  }
  if ((options.checkTtl ?? true) && ip.ttl !== VRRP_TTL) {
    return drop("ttl", `TTL ${ip.ttl} from ${src}, expected 255`, src);
  }
  let adv: DecodedAdvertisement;
  try {
    adv = decodeAdvertisement(ip.payload);
  } catch (err) {
    if (err instanceof VrrpDecodeError) {
      return drop(err.reason, `${err.message} (from ${src})`, src);
    }
    throw err;
  }
  let oldUnicastChecksum = false;
  if (!verifyChecksum(ip.payload, src, ip.dst)) {
    if (
      ip.dst !== VRRP_MULTICAST_GROUP &&
      verifyChecksum(ip.payload, src, VRRP_MULTICAST_GROUP)
    ) {
      oldUnicastChecksum = true;
    } else {
      return drop(
        "checksum",
        `bad checksum 0x${adv.checksum.toString(16)} from ${src} to ${ip.dst}`,
        src,
      );
    }
  }
  if (adv.vrid !== options.vrid) {
    return drop("vrid", `VRID ${adv.vrid} from ${src} is not ours`, src);
  }
  if (src === options.primaryIp) {
    return drop("own", `advertisement with our own source ${src}`, src);
  }
  if (
    options.allowedSources !== undefined &&
    !options.allowedSources.includes(src)
  ) {
    return drop("source", `${src} is not a configured peer`, src);
  }
  if (!sameAddressSet(adv.addresses, options.addresses)) {
    return drop(
      "address_mismatch",
      `${src} (VRID ${adv.vrid}, priority ${adv.priority}) advertises [${
        adv.addresses.join(", ")
      }], we are configured for [${options.addresses.join(", ")}]`,
      src,
    );
  }
  if (adv.maxAdvertIntervalCs === 0) {
    return drop("interval_zero", `advertisement interval 0 from ${src}`, src);
  }
  return {
    ok: true,
    advertisement: adv,
    src,
    dst: ip.dst,
    oldUnicastChecksum,
  };
}

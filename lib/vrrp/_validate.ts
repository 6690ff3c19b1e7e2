/**
 * Receive-path validation of VRRPv3 advertisements (RFC 5798 §7.1) as a
 * pure function, for IPv4 and IPv6: a received packet and our
 * configuration in, either a trusted advertisement or a drop reason out. A
 * dropped packet never reaches the state machine, so it can neither reset
 * nor delay a timer. With authentication configured, the signed-advert
 * checks of `lib/vrrp_auth` run here too, and the per-sender replay state
 * comes back only with an accepted packet.
 *
 * @module
 */

import {
  type DecodedAdvertisement,
  familyOf,
  parseIpv4Packet,
  type SplitAdvertisement,
  splitAdvertisement,
  verifyChecksum,
  VRRP_MULTICAST_GROUP,
  VRRP_TTL,
  VrrpDecodeError,
  type VrrpFamily,
} from "./_codec.ts";
import { formatIP, parseIP } from "../ip/mod.ts";
import { IPPROTO_VRRP } from "../sys/mod.ts";
import {
  AUTH_DROP_REASONS,
  AUTH_TRAILER_SIZE,
  type AuthConfig,
  checkAuthentication,
  type ReplayState,
} from "../vrrp_auth/mod.ts";

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
  /** TTL / hop limit not 255: the packet crossed a router, or was forged off-link. */
  "ttl",
  /** VRRP version is not 3. */
  "version",
  /** VRRP type is not 1 (advertisement). */
  "type",
  /** Bytes beyond the address list (an IPv6 advert, or junk), auth off. */
  "length",
  /** Checksum wrong with either pseudo-header destination. */
  "checksum",
  /** Another virtual router on the same segment: normal, not an error. */
  "vrid",
  /** IPv6: the source is not a link-local address (RFC 5798 §5.1.2.1). */
  "not_link_local",
  /** Our own source address: looped back, or someone else uses our IP. */
  "own",
  /** Source not among the configured unicast peers. */
  "source",
  ...AUTH_DROP_REASONS,
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
  /**
   * Our virtual addresses (one family); the advert must carry exactly
   * these, in any order.
   */
  addresses: readonly string[];
  /**
   * Our primary address: packets from it are our own. Its family is the
   * virtual router's (IPv6: our link-local address).
   */
  primaryIp: string;
  /**
   * If set (unicast mode), only these sources are accepted, like
   * keepalived's `check_unicast_src`.
   */
  allowedSources?: readonly string[];
  /**
   * Require TTL / hop limit 255 (default true, RFC 5798 §7.1). keepalived
   * skips the check in unicast mode so that peers may be routed; setting
   * this false does the same and gives up the off-link protection.
   */
  checkTtl?: boolean;
}

/**
 * Authentication of one received packet: the settings, the per-sender
 * replay state before it, and the realtime clock.
 */
export interface ValidateAuth {
  /** The authentication settings. */
  config: AuthConfig;
  /** The replay state as it is now. */
  replay: ReplayState;
  /** Realtime clock, ms since the epoch (the sequences' time base). */
  wallMs: number;
}

/**
 * A received packet, whatever the family: IPv4 from its header
 * ({@link parseIpv4Packet}), IPv6 from `recvmsg` (the source from the
 * address, the destination from `IPV6_PKTINFO`, the hop limit from
 * `IPV6_HOPLIMIT`: a raw IPv6 socket hands over no header).
 */
export interface ReceivedPacket {
  /** Source address (any text form; compared canonically). */
  src: string;
  /** Destination address. */
  dst: string;
  /** TTL (IPv4) or hop limit (IPv6) as received. */
  ttl: number;
  /** IP protocol / next header (112 for VRRP). */
  protocol: number;
  /** The VRRP message (and trailer), after the IP header. */
  payload: Uint8Array;
}

/** An advertisement that passed every check. */
export interface AcceptedPacket {
  /** Discriminant. */
  ok: true;
  /** The decoded advertisement. */
  advertisement: DecodedAdvertisement;
  /** The sender's address, canonical (its primary IP: the tie-break). */
  src: string;
  /** The packet's destination (the group or our unicast address). */
  dst: string;
  /**
   * True when the checksum only matched with 224.0.0.18 in the
   * pseudo-header although the packet was unicast: keepalived before
   * 1.3.6 (`old_unicast_checksum`). Accepted, like keepalived does.
   */
  oldUnicastChecksum: boolean;
  /** The key that signed it; null when unsigned (or auth is off). */
  keyId: number | null;
  /** With authentication: the replay state to keep from now on. */
  replay?: ReplayState;
}

/** A packet that failed a check. */
export interface DroppedPacket {
  /** Discriminant. */
  ok: false;
  /** The counter to increment. */
  drop: DropReason;
  /** One human sentence for a log line. */
  detail: string;
  /** The source address, when the IP header was readable. */
  src?: string;
}

/** The outcome of {@link validateAdvertisement}. */
export type ValidateResult = AcceptedPacket | DroppedPacket;

function drop(reason: DropReason, detail: string, src?: string): DroppedPacket {
  return src === undefined
    ? { ok: false, drop: reason, detail }
    : { ok: false, drop: reason, detail, src };
}

/** Canonical text of an address (RFC 5952 for IPv6), or the text itself. */
function canonical(text: string): string {
  try {
    return formatIP(parseIP(text).bytes);
  } catch {
    return text;
  }
}

function sameAddressSet(
  got: readonly string[],
  want: readonly string[],
): boolean {
  if (got.length !== want.length) return false;
  const have = new Set(got);
  return have.size === want.length &&
    want.every((a) => have.has(canonical(a)));
}

function isLinkLocal(text: string): boolean {
  const b = parseIP(text).bytes;
  return b.length === 16 && b[0] === 0xfe && (b[1] & 0xc0) === 0x80;
}

/**
 * Checks a raw IPv4 datagram from the VRRP socket (IPv4 header included)
 * per RFC 5798 §7.1; see {@link validatePacket} for the order. Never
 * throws for any input bytes.
 */
export function validateAdvertisement(
  datagram: Uint8Array,
  options: ValidateOptions,
  auth?: ValidateAuth,
): ValidateResult {
  let packet: ReceivedPacket;
  try {
    const ip = parseIpv4Packet(datagram);
    packet = {
      src: ip.src,
      dst: ip.dst,
      ttl: ip.ttl,
      protocol: ip.protocol,
      payload: ip.payload,
    };
  } catch (err) {
    if (err instanceof VrrpDecodeError) return drop(err.reason, err.message);
    throw err;
  }
  return validatePacket(packet, options, auth);
}

/**
 * Checks a received packet of either family per RFC 5798 §7.1, in this
 * order: protocol, TTL / hop limit 255, version, type, length, checksum,
 * VRID, link-local source (IPv6), own source, allowed source, then (with
 * `auth`) unsigned, malformed trailer, stale, unknown key, replay, HMAC,
 * then addresses and interval. Cheap checks come first, so a flood costs
 * no HMAC unless it carries a configured key id and a fresh sequence; the
 * address and interval checks come after authentication, so their warnings
 * (misconfigured peers) are never raised by forgeries. Never throws for
 * any packet bytes.
 *
 * Deviations, both from keepalived: a unicast IPv4 packet whose checksum
 * was computed with 224.0.0.18 in the pseudo-header is accepted (flagged);
 * an address mismatch is dropped even at priority 255 (we never run as
 * address owner, and obeying a misconfigured peer is worse than ignoring
 * it).
 */
export function validatePacket(
  packet: ReceivedPacket,
  options: ValidateOptions,
  auth?: ValidateAuth,
): ValidateResult {
  const family = familyOf(options.primaryIp);
  const src = canonical(packet.src);
  const bad = checkHeader(packet, options, family, src);
  if (bad !== null) return bad;
  const decoded = decodeChecked(packet, family, src, auth !== undefined);
  if ("ok" in decoded) return decoded;
  const { split, checksum } = decoded;
  const adv = split.advertisement;
  const sender = checkSender(adv.vrid, options, family, src);
  if (sender !== null) return sender;
  let keyId: number | null = null;
  let replay: ReplayState | undefined;
  if (auth !== undefined) {
    const verdict = checkAuthentication(
      {
        pdu: split.pdu,
        trailer: split.trailer,
        src: parseIP(src).bytes,
        sender: src,
        wallMs: auth.wallMs,
      },
      auth.config,
      auth.replay,
    );
    if (!verdict.ok) return drop(verdict.reason, verdict.detail, src);
    keyId = verdict.keyId;
    replay = verdict.replay;
  }
  const content = checkContent(adv, options, src);
  if (content !== null) return content;
  const accepted: AcceptedPacket = {
    ok: true,
    advertisement: adv,
    src,
    dst: canonical(packet.dst),
    oldUnicastChecksum: checksum === "old_unicast",
    keyId,
  };
  if (replay !== undefined) accepted.replay = replay;
  return accepted;
}

/** Protocol, TTL / hop limit, family: what the IP layer says. */
function checkHeader(
  packet: ReceivedPacket,
  options: ValidateOptions,
  family: VrrpFamily,
  src: string,
): DroppedPacket | null {
  if (packet.protocol !== IPPROTO_VRRP) {
    return drop(
      "protocol",
      `IP protocol ${packet.protocol}, expected 112`,
      src,
    );
  }
  if ((options.checkTtl ?? true) && packet.ttl !== VRRP_TTL) {
    const what = family === 4 ? "TTL" : "hop limit";
    return drop("ttl", `${what} ${packet.ttl} from ${src}, expected 255`, src);
  }
  if (familyOf(src) !== family) {
    return drop(
      "ip_header",
      `an IPv${familyOf(src)} packet on an IPv${family} virtual router`,
      src,
    );
  }
  return null;
}

/** Decodes the message, refuses extra bytes without auth, checks the sum. */
function decodeChecked(
  packet: ReceivedPacket,
  family: VrrpFamily,
  src: string,
  authOn: boolean,
):
  | DroppedPacket
  | { split: SplitAdvertisement; checksum: "ok" | "old_unicast" } {
  let split: SplitAdvertisement;
  try {
    split = splitAdvertisement(packet.payload, family);
  } catch (err) {
    if (err instanceof VrrpDecodeError) {
      return drop(err.reason, `${err.message} (from ${src})`, src);
    }
    throw err;
  }
  const { advertisement: adv, pdu, trailer } = split;
  if (trailer.length > 0 && !authOn) {
    const signed = trailer.length === AUTH_TRAILER_SIZE && trailer[0] === 1;
    return drop(
      "length",
      `VRRP message from ${src} has ${trailer.length} bytes after its ${adv.addresses.length} addresses` +
        (signed
          ? ": an authentication trailer (auth_hmac); configure the group's key (--auth-key) to accept it"
          : ""),
      src,
    );
  }
  const checksum = checkChecksum(pdu, src, packet.dst, family);
  if (checksum === null) {
    return drop(
      "checksum",
      `bad checksum 0x${
        adv.checksum.toString(16)
      } from ${src} to ${packet.dst}`,
      src,
    );
  }
  return { split, checksum };
}

/** VRID, link-local source (IPv6), our own source, configured peers. */
function checkSender(
  vrid: number,
  options: ValidateOptions,
  family: VrrpFamily,
  src: string,
): DroppedPacket | null {
  if (vrid !== options.vrid) {
    return drop("vrid", `VRID ${vrid} from ${src} is not ours`, src);
  }
  if (family === 6 && !isLinkLocal(src)) {
    return drop(
      "not_link_local",
      `IPv6 advertisement from ${src}, which is not a link-local address (RFC 5798 §5.1.2.1)`,
      src,
    );
  }
  if (src === canonical(options.primaryIp)) {
    return drop("own", `advertisement with our own source ${src}`, src);
  }
  if (
    options.allowedSources !== undefined &&
    !options.allowedSources.some((a) => canonical(a) === src)
  ) {
    return drop("source", `${src} is not a configured peer`, src);
  }
  return null;
}

/** The addresses and the interval of an authentic advert. */
function checkContent(
  adv: DecodedAdvertisement,
  options: ValidateOptions,
  src: string,
): DroppedPacket | null {
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
  return null;
}

/** "ok", "old_unicast" (pre-1.3.6 keepalived, IPv4 only) or null (bad). */
function checkChecksum(
  pdu: Uint8Array,
  src: string,
  dst: string,
  family: VrrpFamily,
): "ok" | "old_unicast" | null {
  try {
    if (verifyChecksum(pdu, src, dst)) return "ok";
    if (
      family === 4 && dst !== VRRP_MULTICAST_GROUP &&
      verifyChecksum(pdu, src, VRRP_MULTICAST_GROUP)
    ) {
      return "old_unicast";
    }
  } catch {
    // A destination of the other family: cannot be ours.
  }
  return null;
}

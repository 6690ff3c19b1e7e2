/**
 * rtnetlink addresses: `struct ifaddrmsg`, `struct ifa_cacheinfo`, the
 * RTM_NEWADDR / RTM_DELADDR message (decoded with the attribute decoder)
 * and the address requests. Pure: bytes in, values out.
 *
 * @module
 */
import { AF_INET, AF_INET6 } from "../sys/mod.ts";
import {
  type Attribute,
  AttributeDecoder,
  checkUint,
  concat,
  encodeAttributes,
  NetlinkDecodeError,
  stringAttr,
  u32Attr,
  view,
} from "./_attributes.ts";
import {
  encodeMessage,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  NLM_F_REQUEST,
  NLMSG_HDRLEN,
} from "./_message.ts";

/** rtnetlink message type: new address / address reply. */
export const RTM_NEWADDR = 20;
/** rtnetlink message type: delete address. */
export const RTM_DELADDR = 21;
/** rtnetlink message type: get addresses. */
export const RTM_GETADDR = 22;

/** Address attribute: the (peer) address; the local one if no IFA_LOCAL. */
export const IFA_ADDRESS = 1;
/** Address attribute: the local address. */
export const IFA_LOCAL = 2;
/** Address attribute: the IPv4 label (`eth0:vip`). */
export const IFA_LABEL = 3;
/** Address attribute: IPv4 broadcast. */
export const IFA_BROADCAST = 4;
/** Address attribute: `struct ifa_cacheinfo` (lifetimes). */
export const IFA_CACHEINFO = 6;
/** Address attribute: u32 flags (superset of `ifa_flags`). */
export const IFA_FLAGS = 8;

/** Address flag: secondary (same subnet as another address). */
export const IFA_F_SECONDARY = 0x01;
/** Address flag: no duplicate address detection (IPv6). */
export const IFA_F_NODAD = 0x02;
/** Address flag: optimistic DAD (IPv6). */
export const IFA_F_OPTIMISTIC = 0x04;
/** Address flag: DAD failed (IPv6). */
export const IFA_F_DADFAILED = 0x08;
/** Address flag: deprecated (preferred lifetime over). */
export const IFA_F_DEPRECATED = 0x20;
/** Address flag: tentative (DAD running). */
export const IFA_F_TENTATIVE = 0x40;
/** Address flag: permanent (no lifetime). */
export const IFA_F_PERMANENT = 0x80;
/** Address flag: no prefix route. */
export const IFA_F_NOPREFIXROUTE = 0x200;

/** Lifetime value meaning "forever". */
export const INFINITY_LIFE_TIME = 0xffffffff;
/** Size of `struct ifaddrmsg`. */
export const IFADDRMSG_LEN = 8;
/** Size of `struct ifa_cacheinfo`. */
export const IFA_CACHEINFO_LEN = 16;

/** `struct ifaddrmsg`. */
export interface IfAddrMsg {
  /** AF_INET or AF_INET6. */
  family: number;
  /** Prefix length. */
  prefixLength: number;
  /** Low 8 bits of the IFA_F_* flags. */
  flags: number;
  /** RT_SCOPE_* (0 = universe). */
  scope: number;
  /** Interface index. */
  ifindex: number;
}

/** Encodes an 8-byte `ifaddrmsg`. */
export function encodeIfAddrMsg(m: IfAddrMsg): Uint8Array {
  checkUint("ifa_family", m.family, 8);
  checkUint("ifa_prefixlen", m.prefixLength, 8);
  checkUint("ifa_flags", m.flags, 8);
  checkUint("ifa_scope", m.scope, 8);
  checkUint("ifa_index", m.ifindex, 32);
  const out = new Uint8Array(IFADDRMSG_LEN);
  const v = view(out);
  v.setUint8(0, m.family);
  v.setUint8(1, m.prefixLength);
  v.setUint8(2, m.flags);
  v.setUint8(3, m.scope);
  v.setUint32(4, m.ifindex, true);
  return out;
}

/** Decodes an 8-byte `ifaddrmsg`. */
export function decodeIfAddrMsg(b: Uint8Array): IfAddrMsg {
  if (b.length < IFADDRMSG_LEN) {
    throw new NetlinkDecodeError(
      `ifaddrmsg needs 8 bytes, got ${b.length}`,
      NLMSG_HDRLEN,
    );
  }
  const v = view(b);
  return {
    family: v.getUint8(0),
    prefixLength: v.getUint8(1),
    flags: v.getUint8(2),
    scope: v.getUint8(3),
    ifindex: v.getUint32(4, true),
  };
}

/** `struct ifa_cacheinfo`: lifetimes in seconds, stamps in 1/100 s. */
export interface CacheInfo {
  /** `ifa_prefered`: preferred lifetime left (s); 0xffffffff = forever. */
  preferred: number;
  /** `ifa_valid`: valid lifetime left (s); 0xffffffff = forever. */
  valid: number;
  /** `cstamp`: creation time (hundredths of a second since boot). */
  created: number;
  /** `tstamp`: last update time (hundredths of a second since boot). */
  updated: number;
}

/** Encodes a 16-byte `ifa_cacheinfo`. */
export function encodeCacheInfo(c: CacheInfo): Uint8Array {
  checkUint("ifa_prefered", c.preferred, 32);
  checkUint("ifa_valid", c.valid, 32);
  checkUint("cstamp", c.created, 32);
  checkUint("tstamp", c.updated, 32);
  const out = new Uint8Array(IFA_CACHEINFO_LEN);
  const v = view(out);
  v.setUint32(0, c.preferred, true);
  v.setUint32(4, c.valid, true);
  v.setUint32(8, c.created, true);
  v.setUint32(12, c.updated, true);
  return out;
}

/** Decodes a 16-byte `ifa_cacheinfo`. */
export function decodeCacheInfo(b: Uint8Array, base = 0): CacheInfo {
  if (b.length < IFA_CACHEINFO_LEN) {
    throw new NetlinkDecodeError(
      `ifa_cacheinfo needs 16 bytes, got ${b.length}`,
      base,
    );
  }
  const v = view(b);
  return {
    preferred: v.getUint32(0, true),
    valid: v.getUint32(4, true),
    created: v.getUint32(8, true),
    updated: v.getUint32(12, true),
  };
}

/** A decoded RTM_NEWADDR (address dump entry). */
export interface AddressMessage {
  /** AF_INET or AF_INET6. */
  family: number;
  /** Prefix length. */
  prefixLength: number;
  /** IFA_F_* flags (IFA_FLAGS if present, else `ifa_flags`). */
  flags: number;
  /** RT_SCOPE_*. */
  scope: number;
  /** Interface index. */
  ifindex: number;
  /** The local address: IFA_LOCAL if present, else IFA_ADDRESS. */
  local?: Uint8Array;
  /** IFA_ADDRESS (the peer on point-to-point links). */
  address?: Uint8Array;
  /** IFA_LABEL (IPv4 only). */
  label?: string;
  /** IFA_CACHEINFO. */
  cacheInfo?: CacheInfo;
}

function addrLen(family: number): number | undefined {
  return family === AF_INET ? 4 : family === AF_INET6 ? 16 : undefined;
}

/**
 * Decodes the payload of an RTM_NEWADDR/RTM_DELADDR message. Address
 * attributes must have the family's length (4 or 16).
 */
export function decodeAddressMessage(payload: Uint8Array): AddressMessage {
  const h = decodeIfAddrMsg(payload);
  const out: AddressMessage = {
    family: h.family,
    prefixLength: h.prefixLength,
    flags: h.flags,
    scope: h.scope,
    ifindex: h.ifindex,
  };
  const want = addrLen(h.family) ?? -1;
  const what = `address attribute for family ${h.family}`;
  const d = new AttributeDecoder(
    payload.subarray(IFADDRMSG_LEN),
    NLMSG_HDRLEN + IFADDRMSG_LEN,
  );
  while (d.next()) {
    switch (d.type) {
      case IFA_ADDRESS:
        out.address = d.bytes(what, want);
        break;
      case IFA_LOCAL:
        out.local = d.bytes(what, want);
        break;
      case IFA_LABEL:
        out.label = d.string();
        break;
      case IFA_CACHEINFO:
        out.cacheInfo = d.do(decodeCacheInfo);
        break;
      case IFA_FLAGS:
        out.flags = d.uint32("IFA_FLAGS");
        break;
    }
  }
  d.finish();
  out.local ??= out.address;
  return out;
}

/** What {@link encodeAddressMessage} puts into an address message. */
export interface AddressMessageInput {
  /** AF_INET or AF_INET6 (must match the address length). */
  family: number;
  /** Prefix length (0-32 or 0-128). */
  prefixLength: number;
  /** IFA_F_* flags (sent in `ifa_flags` and, if above 0xff or set, IFA_FLAGS). */
  flags?: number;
  /** RT_SCOPE_* (default 0, universe). */
  scope?: number;
  /** Interface index (> 0). */
  ifindex: number;
  /** The local address (sent as IFA_LOCAL). */
  local: Uint8Array;
  /** The IFA_ADDRESS value; defaults to `local` (as `ip addr add` does). */
  address?: Uint8Array;
  /** IPv4 label (by convention `<interface>:<tag>`). */
  label?: string;
  /** Lifetimes (IFA_CACHEINFO); omit for a permanent address. */
  cacheInfo?: CacheInfo;
}

/** Encodes an address message payload (ifaddrmsg + attributes). */
export function encodeAddressMessage(m: AddressMessageInput): Uint8Array {
  const want = addrLen(m.family);
  if (want === undefined) {
    throw new RangeError(
      `address family must be AF_INET or AF_INET6, got ${m.family}`,
    );
  }
  if (m.local.length !== want) {
    throw new RangeError(
      `family ${m.family} needs ${want}-byte addresses, got ${m.local.length}`,
    );
  }
  if (m.address !== undefined && m.address.length !== want) {
    throw new RangeError(
      `family ${m.family} needs ${want}-byte addresses, got ${m.address.length}`,
    );
  }
  if (
    !Number.isInteger(m.prefixLength) || m.prefixLength < 0 ||
    m.prefixLength > want * 8
  ) {
    throw new RangeError(
      `prefix length must be 0..${want * 8}, got ${m.prefixLength}`,
    );
  }
  const flags = m.flags ?? 0;
  checkUint("address flags", flags, 32);
  const attrs: Attribute[] = [
    { type: IFA_LOCAL, data: m.local },
    { type: IFA_ADDRESS, data: m.address ?? m.local },
  ];
  if (m.label !== undefined) attrs.push(stringAttr(IFA_LABEL, m.label));
  if (m.cacheInfo !== undefined) {
    attrs.push({ type: IFA_CACHEINFO, data: encodeCacheInfo(m.cacheInfo) });
  }
  if (flags !== 0) attrs.push(u32Attr(IFA_FLAGS, flags));
  return concat([
    encodeIfAddrMsg({
      family: m.family,
      prefixLength: m.prefixLength,
      flags: flags & 0xff,
      scope: m.scope ?? 0,
      ifindex: m.ifindex,
    }),
    encodeAttributes(attrs),
  ]);
}

/** An RTM_GETADDR dump request for one family (0 = all). */
export function getAddressDumpRequest(seq: number, family = 0): Uint8Array {
  return encodeMessage({
    type: RTM_GETADDR,
    flags: NLM_F_REQUEST | NLM_F_DUMP,
    seq,
    payload: encodeIfAddrMsg({
      family,
      prefixLength: 0,
      flags: 0,
      scope: 0,
      ifindex: 0,
    }),
  });
}

/**
 * An RTM_NEWADDR request. `mode` `"replace"` sends
 * CREATE|REPLACE (add, or update the lifetimes of an existing address);
 * `"add"` sends CREATE|EXCL (EEXIST if present). Always with an ACK.
 */
export function newAddressRequest(
  seq: number,
  mode: "replace" | "add",
  m: AddressMessageInput,
): Uint8Array {
  const how = mode === "replace" ? NLM_F_REPLACE : NLM_F_EXCL;
  return encodeMessage({
    type: RTM_NEWADDR,
    flags: NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | how,
    seq,
    payload: encodeAddressMessage(m),
  });
}

/**
 * An RTM_DELADDR request. It always carries IFA_LOCAL: without it the
 * kernel deletes the interface's *first* address (the host's own).
 */
export function deleteAddressRequest(
  seq: number,
  m: Omit<AddressMessageInput, "cacheInfo" | "label">,
): Uint8Array {
  return encodeMessage({
    type: RTM_DELADDR,
    flags: NLM_F_REQUEST | NLM_F_ACK,
    seq,
    payload: encodeAddressMessage({ ...m, flags: 0 }),
  });
}

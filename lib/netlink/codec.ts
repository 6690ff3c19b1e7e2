/**
 * Pure rtnetlink codec: bytes in, values out (and back). No I/O.
 *
 * Layout facts (see KERNEL_NOTES.md): headers and attribute lengths are
 * host order (little-endian on every platform ha-vip ships for); addresses
 * inside attributes are network order. nlmsghdr is 16 bytes, ifaddrmsg 8,
 * ifinfomsg 16, rtattr header 4; everything is aligned to 4 and `rta_len`
 * / `nlmsg_len` exclude the trailing padding.
 *
 * @module
 */

// ---- constants -----------------------------------------------------------

/** Control message: nothing. */
export const NLMSG_NOOP = 1;
/** Control message: error or, with error 0, an ACK. */
export const NLMSG_ERROR = 2;
/** Control message: end of a multipart dump. */
export const NLMSG_DONE = 3;
/** Control message: data lost. */
export const NLMSG_OVERRUN = 4;

/** Flag: a request (every message to the kernel). */
export const NLM_F_REQUEST = 0x1;
/** Flag: part of a multipart reply. */
export const NLM_F_MULTI = 0x2;
/** Flag: ask for an ACK (always set: a read-until-ACK loop needs it). */
export const NLM_F_ACK = 0x4;
/** Flag: echo the request. */
export const NLM_F_ECHO = 0x8;
/** Flag on dump replies: the dump was inconsistent (changed meanwhile). */
export const NLM_F_DUMP_INTR = 0x10;
/** GET flag: return the whole table. */
export const NLM_F_ROOT = 0x100;
/** GET flag: return all matching. */
export const NLM_F_MATCH = 0x200;
/** GET flag: dump (ROOT|MATCH). Shares bits with REPLACE|EXCL. */
export const NLM_F_DUMP = 0x300;
/** NEW flag: replace an existing object. */
export const NLM_F_REPLACE = 0x100;
/** NEW flag: fail with EEXIST if it exists. */
export const NLM_F_EXCL = 0x200;
/** NEW flag: create if missing. */
export const NLM_F_CREATE = 0x400;
/** NEW flag: add to the end. */
export const NLM_F_APPEND = 0x800;
/** ERROR flag: the echoed request was cut to its header. */
export const NLM_F_CAPPED = 0x100;
/** ERROR flag: extended-ACK TLVs follow. */
export const NLM_F_ACK_TLVS = 0x200;

/** rtnetlink message type: new link / link reply. */
export const RTM_NEWLINK = 16;
/** rtnetlink message type: delete link. */
export const RTM_DELLINK = 17;
/** rtnetlink message type: get link(s). */
export const RTM_GETLINK = 18;
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

/** Link attribute: hardware address. */
export const IFLA_ADDRESS = 1;
/** Link attribute: broadcast hardware address. */
export const IFLA_BROADCAST = 2;
/** Link attribute: name (NUL-terminated). */
export const IFLA_IFNAME = 3;
/** Link attribute: MTU (u32). */
export const IFLA_MTU = 4;
/** Link attribute: RFC 2863 operational state (u8). */
export const IFLA_OPERSTATE = 16;
/** Link attribute: extended filter mask for GETLINK (u32). */
export const IFLA_EXT_MASK = 29;
/** Link attribute: carrier (u8). */
export const IFLA_CARRIER = 33;

/** Link flag: administratively up. */
export const IFF_UP = 0x1;
/** Link flag: loopback. */
export const IFF_LOOPBACK = 0x8;
/** Link flag: running (operationally up). */
export const IFF_RUNNING = 0x40;
/** Link flag: no ARP. */
export const IFF_NOARP = 0x80;
/** Link flag: the lower layer (carrier) is up. */
export const IFF_LOWER_UP = 0x10000;

/** Extended ACK attribute: the kernel's error message. */
export const NLMSGERR_ATTR_MSG = 1;

/** Lifetime value meaning "forever". */
export const INFINITY_LIFE_TIME = 0xffffffff;

/** Size of `struct nlmsghdr`. */
export const NLMSG_HDRLEN = 16;
/** Size of `struct rtattr` header. */
export const RTA_HDRLEN = 4;
/** Size of `struct ifaddrmsg`. */
export const IFADDRMSG_LEN = 8;
/** Size of `struct ifinfomsg`. */
export const IFINFOMSG_LEN = 16;
/** Size of `struct ifa_cacheinfo`. */
export const IFA_CACHEINFO_LEN = 16;

const AF_INET = 2;
const AF_INET6 = 10;

/** RFC 2863 operational states, indexed by `IFLA_OPERSTATE`. */
export const OPER_STATES = [
  "unknown",
  "notpresent",
  "down",
  "lowerlayerdown",
  "testing",
  "dormant",
  "up",
] as const;

/** A name from {@link OPER_STATES}, or `"unknown"`. */
export type OperState = typeof OPER_STATES[number];

// ---- errors and helpers ----------------------------------------------------

/** Kernel (or network) bytes that do not decode. Carries the offset. */
export class NetlinkDecodeError extends Error {
  /** Byte offset (within the decoded buffer) where decoding failed. */
  readonly offset: number;
  /** What is wrong and the byte offset where it was found. */
  constructor(message: string, offset: number) {
    super(`netlink decode: ${message} (at byte ${offset})`);
    this.name = "NetlinkDecodeError";
    this.offset = offset;
  }
}

/** Rounds up to the netlink alignment (4). */
export function align4(n: number): number {
  return (n + 3) & ~3;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function checkUint(name: string, v: number, bits: 8 | 16 | 32): void {
  const max = bits === 32 ? 0xffffffff : (1 << bits) - 1;
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new RangeError(`${name} must be an integer 0..${max}, got ${v}`);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// ---- nlmsghdr ----------------------------------------------------------------

/** `struct nlmsghdr`. */
export interface NlMsgHeader {
  /** Whole message length including this header, excluding padding. */
  length: number;
  /** Message type (NLMSG_* or RTM_*). */
  type: number;
  /** NLM_F_* flags. */
  flags: number;
  /** Sequence number (echoed by the kernel). */
  seq: number;
  /** Port id: 0 from the kernel; ours on replies to us. */
  pid: number;
}

/** One netlink message: its header and its payload (without padding). */
export interface NetlinkMessage {
  /** The header; `header.length === 16 + payload.length`. */
  header: NlMsgHeader;
  /** The bytes after the header. */
  payload: Uint8Array;
}

/** Encodes a 16-byte `nlmsghdr`. */
export function encodeHeader(h: NlMsgHeader): Uint8Array {
  checkUint("nlmsg_len", h.length, 32);
  checkUint("nlmsg_type", h.type, 16);
  checkUint("nlmsg_flags", h.flags, 16);
  checkUint("nlmsg_seq", h.seq, 32);
  checkUint("nlmsg_pid", h.pid, 32);
  const out = new Uint8Array(NLMSG_HDRLEN);
  const v = view(out);
  v.setUint32(0, h.length, true);
  v.setUint16(4, h.type, true);
  v.setUint16(6, h.flags, true);
  v.setUint32(8, h.seq, true);
  v.setUint32(12, h.pid, true);
  return out;
}

/** Decodes a 16-byte `nlmsghdr` (no length validation beyond size). */
export function decodeHeader(b: Uint8Array): NlMsgHeader {
  if (b.length < NLMSG_HDRLEN) {
    throw new NetlinkDecodeError(`nlmsghdr needs 16 bytes, got ${b.length}`, 0);
  }
  const v = view(b);
  return {
    length: v.getUint32(0, true),
    type: v.getUint16(4, true),
    flags: v.getUint16(6, true),
    seq: v.getUint32(8, true),
    pid: v.getUint32(12, true),
  };
}

/**
 * Encodes one message; `nlmsg_len` is computed. The result is padded to 4
 * so messages can be concatenated.
 */
export function encodeMessage(m: {
  type: number;
  flags: number;
  seq: number;
  pid?: number;
  payload?: Uint8Array;
}): Uint8Array {
  const payload = m.payload ?? new Uint8Array(0);
  const length = NLMSG_HDRLEN + payload.length;
  const out = new Uint8Array(align4(length));
  out.set(
    encodeHeader({
      length,
      type: m.type,
      flags: m.flags,
      seq: m.seq,
      pid: m.pid ?? 0,
    }),
  );
  out.set(payload, NLMSG_HDRLEN);
  return out;
}

/**
 * Splits a received datagram into messages. Throws
 * {@link NetlinkDecodeError} when a length field points outside the buffer
 * or below the header size, or bytes are left over.
 */
export function decodeMessages(b: Uint8Array): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  let o = 0;
  while (o < b.length) {
    if (b.length - o < NLMSG_HDRLEN) {
      throw new NetlinkDecodeError(
        `${b.length - o} trailing bytes are too short for a nlmsghdr`,
        o,
      );
    }
    const header = decodeHeader(b.subarray(o, o + NLMSG_HDRLEN));
    if (header.length < NLMSG_HDRLEN) {
      throw new NetlinkDecodeError(`nlmsg_len ${header.length} < 16`, o);
    }
    if (header.length > b.length - o) {
      throw new NetlinkDecodeError(
        `nlmsg_len ${header.length} exceeds the ${b.length - o} bytes left`,
        o,
      );
    }
    out.push({ header, payload: b.slice(o + NLMSG_HDRLEN, o + header.length) });
    o += Math.min(align4(header.length), b.length - o);
  }
  return out;
}

// ---- rtattr --------------------------------------------------------------------

/** One `rtattr`: type (raw, including NLA_F_* bits) and data (no padding). */
export interface Attribute {
  /** `rta_type`. */
  type: number;
  /** The value bytes. */
  data: Uint8Array;
}

/** Encodes attributes, each padded to 4 (`rta_len` excludes the padding). */
export function encodeAttributes(attrs: readonly Attribute[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const a of attrs) {
    const len = RTA_HDRLEN + a.data.length;
    checkUint("rta_len", len, 16);
    checkUint("rta_type", a.type, 16);
    const out = new Uint8Array(align4(len));
    const v = view(out);
    v.setUint16(0, len, true);
    v.setUint16(2, a.type, true);
    out.set(a.data, RTA_HDRLEN);
    parts.push(out);
  }
  return concat(parts);
}

/**
 * Decodes a run of attributes. Like the kernel's `nla_parse` and
 * iproute2's `parse_rtattr`, fewer than 4 bytes left over are ignored;
 * an `rta_len` below 4 or past the end throws {@link NetlinkDecodeError}.
 * `base` is added to offsets in error messages.
 */
export function decodeAttributes(b: Uint8Array, base = 0): Attribute[] {
  const out: Attribute[] = [];
  let o = 0;
  while (b.length - o >= RTA_HDRLEN) {
    const v = view(b.subarray(o));
    const len = v.getUint16(0, true);
    const type = v.getUint16(2, true);
    if (len < RTA_HDRLEN) {
      throw new NetlinkDecodeError(`rta_len ${len} < 4`, base + o);
    }
    if (len > b.length - o) {
      throw new NetlinkDecodeError(
        `rta_len ${len} exceeds the ${b.length - o} bytes left`,
        base + o,
      );
    }
    out.push({ type, data: b.slice(o + RTA_HDRLEN, o + len) });
    o += Math.min(align4(len), b.length - o);
  }
  return out;
}

/** A u8 attribute value. */
export function u8Attr(type: number, value: number): Attribute {
  checkUint("u8 attribute", value, 8);
  return { type, data: Uint8Array.of(value) };
}

/** A host-order u32 attribute value. */
export function u32Attr(type: number, value: number): Attribute {
  checkUint("u32 attribute", value, 32);
  const data = new Uint8Array(4);
  view(data).setUint32(0, value, true);
  return { type, data };
}

/** A NUL-terminated string attribute value. */
export function stringAttr(type: number, value: string): Attribute {
  const s = new TextEncoder().encode(value);
  const data = new Uint8Array(s.length + 1);
  data.set(s);
  return { type, data };
}

function attrU8(a: Attribute, what: string, base: number): number {
  if (a.data.length < 1) {
    throw new NetlinkDecodeError(`${what} needs 1 byte, got 0`, base);
  }
  return a.data[0];
}

function attrU32(a: Attribute, what: string, base: number): number {
  if (a.data.length < 4) {
    throw new NetlinkDecodeError(
      `${what} needs 4 bytes, got ${a.data.length}`,
      base,
    );
  }
  return view(a.data).getUint32(0, true);
}

function attrString(a: Attribute): string {
  const end = a.data.indexOf(0);
  return new TextDecoder().decode(
    end < 0 ? a.data : a.data.subarray(0, end),
  );
}

// ---- NLMSG_ERROR / NLMSG_DONE -------------------------------------------------

/** A decoded `NLMSG_ERROR` payload. */
export interface ErrorPayload {
  /** Positive errno; 0 means this is an ACK. */
  errno: number;
  /** The header of the request this answers, if present. */
  request?: NlMsgHeader;
  /** The kernel's extended-ACK message (e.g. "Invalid prefix length"). */
  message?: string;
}

/**
 * Decodes an `NLMSG_ERROR` payload: `-errno` (i32) at offset 0, then the
 * request's header (and, unless NLM_F_CAPPED, its payload), then, with
 * NLM_F_ACK_TLVS, extended-ACK attributes. `flags` are the error message's
 * header flags.
 */
export function decodeError(payload: Uint8Array, flags = 0): ErrorPayload {
  if (payload.length < 4) {
    throw new NetlinkDecodeError(
      `NLMSG_ERROR payload needs 4 bytes, got ${payload.length}`,
      NLMSG_HDRLEN,
    );
  }
  const code = view(payload).getInt32(0, true);
  if (code > 0 || code === -0x80000000) {
    throw new NetlinkDecodeError(`NLMSG_ERROR code ${code} is not -errno`, 16);
  }
  const out: ErrorPayload = { errno: code === 0 ? 0 : -code };
  if (payload.length < 4 + NLMSG_HDRLEN) return out;
  out.request = decodeHeader(payload.subarray(4, 4 + NLMSG_HDRLEN));
  if (flags & NLM_F_ACK_TLVS) {
    const tlvStart = flags & NLM_F_CAPPED
      ? 4 + NLMSG_HDRLEN
      : 4 + align4(out.request.length);
    if (tlvStart <= payload.length) {
      try {
        for (const a of decodeAttributes(payload.subarray(tlvStart))) {
          if (a.type === NLMSGERR_ATTR_MSG) out.message = attrString(a);
        }
      } catch (err) {
        // The errno is what matters; a garbled message is just dropped.
        if (!(err instanceof NetlinkDecodeError)) throw err;
      }
    }
  }
  return out;
}

/** Encodes an `NLMSG_ERROR` payload (used by tests and fixtures). */
export function encodeError(e: ErrorPayload): Uint8Array {
  if (!Number.isInteger(e.errno) || e.errno < 0 || e.errno > 0x7fffffff) {
    throw new RangeError(`errno must be 0..2147483647, got ${e.errno}`);
  }
  const parts: Uint8Array[] = [];
  const code = new Uint8Array(4);
  view(code).setInt32(0, -e.errno, true);
  parts.push(code);
  if (e.request !== undefined) parts.push(encodeHeader(e.request));
  if (e.message !== undefined) {
    parts.push(encodeAttributes([stringAttr(NLMSGERR_ATTR_MSG, e.message)]));
  }
  return concat(parts);
}

/**
 * Decodes an `NLMSG_DONE` payload: the dump's status as a positive errno
 * (0 = complete). An empty payload counts as 0.
 */
export function decodeDone(payload: Uint8Array): number {
  if (payload.length < 4) return 0;
  const code = view(payload).getInt32(0, true);
  if (code > 0 || code === -0x80000000) {
    throw new NetlinkDecodeError(`NLMSG_DONE code ${code} is not -errno`, 16);
  }
  return code === 0 ? 0 : -code;
}

// ---- ifaddrmsg / ifinfomsg / ifa_cacheinfo -------------------------------------

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

/** `struct ifinfomsg`. */
export interface IfInfoMsg {
  /** Usually AF_UNSPEC (0). */
  family: number;
  /** ARPHRD_* (1 = Ethernet, 772 = loopback). */
  type: number;
  /** Interface index (signed in the kernel; 0 = "by name"). */
  ifindex: number;
  /** IFF_* flags. */
  flags: number;
  /** Change mask. */
  change: number;
}

/** Encodes a 16-byte `ifinfomsg`. */
export function encodeIfInfoMsg(m: IfInfoMsg): Uint8Array {
  checkUint("ifi_family", m.family, 8);
  checkUint("ifi_type", m.type, 16);
  if (
    !Number.isInteger(m.ifindex) || m.ifindex < -0x80000000 ||
    m.ifindex > 0x7fffffff
  ) {
    throw new RangeError(`ifi_index must be an i32, got ${m.ifindex}`);
  }
  checkUint("ifi_flags", m.flags, 32);
  checkUint("ifi_change", m.change, 32);
  const out = new Uint8Array(IFINFOMSG_LEN);
  const v = view(out);
  v.setUint8(0, m.family);
  v.setUint16(2, m.type, true);
  v.setInt32(4, m.ifindex, true);
  v.setUint32(8, m.flags, true);
  v.setUint32(12, m.change, true);
  return out;
}

/** Decodes a 16-byte `ifinfomsg`. */
export function decodeIfInfoMsg(b: Uint8Array): IfInfoMsg {
  if (b.length < IFINFOMSG_LEN) {
    throw new NetlinkDecodeError(
      `ifinfomsg needs 16 bytes, got ${b.length}`,
      NLMSG_HDRLEN,
    );
  }
  const v = view(b);
  return {
    family: v.getUint8(0),
    type: v.getUint16(2, true),
    ifindex: v.getInt32(4, true),
    flags: v.getUint32(8, true),
    change: v.getUint32(12, true),
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

// ---- address messages ----------------------------------------------------------

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
  const base = NLMSG_HDRLEN + IFADDRMSG_LEN;
  const want = addrLen(h.family);
  for (const a of decodeAttributes(payload.subarray(IFADDRMSG_LEN), base)) {
    switch (a.type) {
      case IFA_ADDRESS:
      case IFA_LOCAL:
        if (want === undefined || a.data.length !== want) {
          throw new NetlinkDecodeError(
            `address attribute of ${a.data.length} bytes for family ${h.family}`,
            base,
          );
        }
        if (a.type === IFA_ADDRESS) out.address = a.data;
        else out.local = a.data;
        break;
      case IFA_LABEL:
        out.label = attrString(a);
        break;
      case IFA_CACHEINFO:
        out.cacheInfo = decodeCacheInfo(a.data, base);
        break;
      case IFA_FLAGS:
        out.flags = attrU32(a, "IFA_FLAGS", base);
        break;
    }
  }
  if (out.local === undefined && out.address !== undefined) {
    out.local = out.address;
  }
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

// ---- link messages ---------------------------------------------------------------

/** A decoded RTM_NEWLINK (link reply or dump entry). */
export interface LinkMessage {
  /** Interface index. */
  ifindex: number;
  /** ARPHRD_* type. */
  type: number;
  /** IFF_* flags. */
  flags: number;
  /** IFLA_IFNAME ("" if absent). */
  name: string;
  /** IFLA_ADDRESS (empty if absent). */
  address: Uint8Array;
  /** IFLA_MTU (0 if absent). */
  mtu: number;
  /** IFLA_OPERSTATE (0 = unknown if absent). */
  operState: number;
  /** IFLA_CARRIER, if present. */
  carrier?: number;
}

/** Decodes the payload of an RTM_NEWLINK message. */
export function decodeLinkMessage(payload: Uint8Array): LinkMessage {
  const h = decodeIfInfoMsg(payload);
  const out: LinkMessage = {
    ifindex: h.ifindex,
    type: h.type,
    flags: h.flags,
    name: "",
    address: new Uint8Array(0),
    mtu: 0,
    operState: 0,
  };
  const base = NLMSG_HDRLEN + IFINFOMSG_LEN;
  for (const a of decodeAttributes(payload.subarray(IFINFOMSG_LEN), base)) {
    switch (a.type) {
      case IFLA_IFNAME:
        out.name = attrString(a);
        break;
      case IFLA_ADDRESS:
        out.address = a.data;
        break;
      case IFLA_MTU:
        out.mtu = attrU32(a, "IFLA_MTU", base);
        break;
      case IFLA_OPERSTATE:
        out.operState = attrU8(a, "IFLA_OPERSTATE", base);
        break;
      case IFLA_CARRIER:
        out.carrier = attrU8(a, "IFLA_CARRIER", base);
        break;
    }
  }
  return out;
}

/** Encodes an RTM_NEWLINK-shaped payload (for fixtures and round trips). */
export function encodeLinkMessage(m: LinkMessage): Uint8Array {
  const attrs: Attribute[] = [stringAttr(IFLA_IFNAME, m.name)];
  if (m.address.length > 0) attrs.push({ type: IFLA_ADDRESS, data: m.address });
  attrs.push(u32Attr(IFLA_MTU, m.mtu), u8Attr(IFLA_OPERSTATE, m.operState));
  if (m.carrier !== undefined) attrs.push(u8Attr(IFLA_CARRIER, m.carrier));
  return concat([
    encodeIfInfoMsg({
      family: 0,
      type: m.type,
      ifindex: m.ifindex,
      flags: m.flags,
      change: 0,
    }),
    encodeAttributes(attrs),
  ]);
}

/** The name of an IFLA_OPERSTATE value. */
export function operStateName(v: number): OperState {
  return OPER_STATES[v] ?? "unknown";
}

// ---- requests ------------------------------------------------------------------------

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

/** An RTM_GETLINK dump request. */
export function getLinkDumpRequest(seq: number): Uint8Array {
  return encodeMessage({
    type: RTM_GETLINK,
    flags: NLM_F_REQUEST | NLM_F_DUMP,
    seq,
    payload: encodeIfInfoMsg({
      family: 0,
      type: 0,
      ifindex: 0,
      flags: 0,
      change: 0,
    }),
  });
}

/** An RTM_GETLINK request for one interface, by name (with an ACK). */
export function getLinkByNameRequest(seq: number, name: string): Uint8Array {
  return encodeMessage({
    type: RTM_GETLINK,
    flags: NLM_F_REQUEST | NLM_F_ACK,
    seq,
    payload: concat([
      encodeIfInfoMsg({ family: 0, type: 0, ifindex: 0, flags: 0, change: 0 }),
      encodeAttributes([stringAttr(IFLA_IFNAME, name)]),
    ]),
  });
}

/** An RTM_GETLINK request for one interface, by index (with an ACK). */
export function getLinkByIndexRequest(
  seq: number,
  ifindex: number,
): Uint8Array {
  return encodeMessage({
    type: RTM_GETLINK,
    flags: NLM_F_REQUEST | NLM_F_ACK,
    seq,
    payload: encodeIfInfoMsg({
      family: 0,
      type: 0,
      ifindex,
      flags: 0,
      change: 0,
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

/**
 * The generic netlink message layer: `struct nlmsghdr`, splitting a
 * datagram into messages, and the control payloads (`NLMSG_ERROR` with its
 * extended ACK, `NLMSG_DONE`). Pure: bytes in, values out.
 *
 * Layout facts (see KERNEL_NOTES.md): headers and lengths are host order
 * (little-endian on every platform ha-vip ships for); nlmsghdr is 16 bytes
 * and messages are aligned to 4, `nlmsg_len` excluding the padding.
 *
 * @module
 */
import {
  align4,
  AttributeDecoder,
  checkUint,
  concat,
  encodeAttributes,
  NetlinkDecodeError,
  stringAttr,
  view,
} from "./_attributes.ts";

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

/** Extended ACK attribute: the kernel's error message. */
export const NLMSGERR_ATTR_MSG = 1;

/** Size of `struct nlmsghdr`. */
export const NLMSG_HDRLEN = 16;

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
      // The errno is what matters; a garbled message is just dropped.
      const d = new AttributeDecoder(payload.subarray(tlvStart));
      while (d.next()) {
        if (d.type === NLMSGERR_ATTR_MSG) out.message = d.string();
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

/**
 * rtnetlink links: `struct ifinfomsg`, the RTM_NEWLINK message (decoded
 * with the attribute decoder) and the link requests. Pure.
 *
 * @module
 */
import {
  type Attribute,
  AttributeDecoder,
  checkUint,
  concat,
  encodeAttributes,
  NetlinkDecodeError,
  stringAttr,
  u32Attr,
  u8Attr,
  view,
} from "./_attributes.ts";
import {
  encodeMessage,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  NLMSG_HDRLEN,
} from "./_message.ts";

/** rtnetlink message type: new link / link reply. */
export const RTM_NEWLINK = 16;
/** rtnetlink message type: delete link. */
export const RTM_DELLINK = 17;
/** rtnetlink message type: get link(s). */
export const RTM_GETLINK = 18;
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

/** Size of `struct ifinfomsg`. */
export const IFINFOMSG_LEN = 16;

/** An RFC 2863 operational state (`IFLA_OPERSTATE`). */
export type OperState =
  | "unknown"
  | "notpresent"
  | "down"
  | "lowerlayerdown"
  | "testing"
  | "dormant"
  | "up";

/** RFC 2863 operational states, indexed by `IFLA_OPERSTATE`. */
export const OPER_STATES: readonly OperState[] = [
  "unknown",
  "notpresent",
  "down",
  "lowerlayerdown",
  "testing",
  "dormant",
  "up",
];

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

/** Decodes the payload of an RTM_NEWLINK (or RTM_DELLINK) message. */
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
  const d = new AttributeDecoder(
    payload.subarray(IFINFOMSG_LEN),
    NLMSG_HDRLEN + IFINFOMSG_LEN,
  );
  while (d.next()) {
    switch (d.type) {
      case IFLA_IFNAME:
        out.name = d.string();
        break;
      case IFLA_ADDRESS:
        out.address = d.data;
        break;
      case IFLA_MTU:
        out.mtu = d.uint32("IFLA_MTU");
        break;
      case IFLA_OPERSTATE:
        out.operState = d.uint8("IFLA_OPERSTATE");
        break;
      case IFLA_CARRIER:
        out.carrier = d.uint8("IFLA_CARRIER");
        break;
    }
  }
  d.finish();
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

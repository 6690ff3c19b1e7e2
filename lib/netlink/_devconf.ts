/**
 * IPv4 per-interface settings (`net.ipv4.conf.<if>.*`) by rtnetlink, so
 * that ha-vip needs no writable `/proc/sys` (a hardened unit has none):
 * read from RTM_NEWLINK's `IFLA_AF_SPEC` → `AF_INET` → `IFLA_INET_CONF`
 * (an array of u32, entry i is setting i + 1), written with RTM_SETLINK
 * and the same nest holding one attribute per setting. Pure.
 *
 * @module
 */
import {
  AttributeDecoder,
  concat,
  encodeAttributes,
  NetlinkDecodeError,
  u32Attr,
  view,
} from "./_attributes.ts";
import { decodeIfInfoMsg, encodeIfInfoMsg, IFINFOMSG_LEN } from "./_link.ts";
import {
  encodeMessage,
  NLM_F_ACK,
  NLM_F_REQUEST,
  NLMSG_HDRLEN,
} from "./_message.ts";

/** rtnetlink message type: set link attributes. */
export const RTM_SETLINK = 19;
/** Link attribute: per-address-family settings (nested). */
export const IFLA_AF_SPEC = 26;
/** Inside AF_INET's nest: the IPv4 device settings. */
export const IFLA_INET_CONF = 1;
/** `IPV4_DEVCONF_PROMOTE_SECONDARIES` (include/uapi/linux/ip.h). */
export const IPV4_DEVCONF_PROMOTE_SECONDARIES = 20;
/** Attribute flag: the value is a nest of attributes. */
export const NLA_F_NESTED = 0x8000;

const AF_INET = 2;

/**
 * The IPv4 device settings of an RTM_NEWLINK payload (index i holds setting
 * i + 1), or undefined when the link has none (no IPv4 on it).
 */
export function decodeInetConf(payload: Uint8Array): number[] | undefined {
  decodeIfInfoMsg(payload);
  const base = NLMSG_HDRLEN + IFINFOMSG_LEN;
  let out: number[] | undefined;
  const d = new AttributeDecoder(payload.subarray(IFINFOMSG_LEN), base);
  while (d.next()) {
    if ((d.type & ~NLA_F_NESTED) !== IFLA_AF_SPEC) continue;
    out = d.do((data, offset) => inetOf(data, offset)) ?? out;
  }
  d.finish();
  return out;
}

function inetOf(spec: Uint8Array, base: number): number[] | undefined {
  const families = new AttributeDecoder(spec, base);
  let out: number[] | undefined;
  while (families.next()) {
    if ((families.type & ~NLA_F_NESTED) !== AF_INET) continue;
    out = families.do((data, offset) => confOf(data, offset));
  }
  families.finish();
  return out;
}

function confOf(inet: Uint8Array, base: number): number[] | undefined {
  const d = new AttributeDecoder(inet, base);
  let out: number[] | undefined;
  while (d.next()) {
    if ((d.type & ~NLA_F_NESTED) !== IFLA_INET_CONF) continue;
    const data = d.data;
    if (data.length % 4 !== 0) {
      throw new NetlinkDecodeError(
        `IFLA_INET_CONF of ${data.length} bytes is not a u32 array`,
        base,
      );
    }
    const v = view(data);
    out = Array.from(
      { length: data.length / 4 },
      (_, i) => v.getUint32(4 * i, true),
    );
  }
  d.finish();
  return out;
}

/** An RTM_SETLINK request setting one IPv4 device setting (with an ACK). */
export function setInetConfRequest(
  seq: number,
  ifindex: number,
  setting: number,
  value: number,
): Uint8Array {
  const conf = encodeAttributes([u32Attr(setting, value)]);
  const inet = encodeAttributes([
    { type: IFLA_INET_CONF | NLA_F_NESTED, data: conf },
  ]);
  const spec = encodeAttributes([{ type: AF_INET | NLA_F_NESTED, data: inet }]);
  return encodeMessage({
    type: RTM_SETLINK,
    flags: NLM_F_REQUEST | NLM_F_ACK,
    seq,
    payload: concat([
      encodeIfInfoMsg({ family: 0, type: 0, ifindex, flags: 0, change: 0 }),
      encodeAttributes([{ type: IFLA_AF_SPEC | NLA_F_NESTED, data: spec }]),
    ]),
  });
}

/**
 * IPv4 device settings by rtnetlink (pure): the RTM_SETLINK request that
 * sets `promote_secondaries`, and the IFLA_AF_SPEC nest of a link reply
 * that carries it, against annotated bytes; the decoder fuzzed.
 */
import assert from "node:assert/strict";
import { NetlinkDecodeError } from "../../lib/netlink/_attributes.ts";
import {
  decodeInetConf,
  IPV4_DEVCONF_PROMOTE_SECONDARIES,
  setInetConfRequest,
} from "../../lib/netlink/_devconf.ts";
import { fuzzDecoder } from "../sys/_fuzz.ts";

// RTM_SETLINK: promote_secondaries (20) = 1 on ifindex 2.
// deno-fmt-ignore
const SET_PROMOTE = Uint8Array.of(
  // nlmsghdr
  0x34, 0x00, 0x00, 0x00, // nlmsg_len 52
  0x13, 0x00,             // nlmsg_type RTM_SETLINK (19)
  0x05, 0x00,             // nlmsg_flags REQUEST|ACK
  0x07, 0x00, 0x00, 0x00, // nlmsg_seq 7
  0x00, 0x00, 0x00, 0x00, // nlmsg_pid 0
  // ifinfomsg
  0x00, 0x00,             // ifi_family AF_UNSPEC, pad
  0x00, 0x00,             // ifi_type
  0x02, 0x00, 0x00, 0x00, // ifi_index 2
  0x00, 0x00, 0x00, 0x00, // ifi_flags
  0x00, 0x00, 0x00, 0x00, // ifi_change
  0x14, 0x00, 0x1a, 0x80, // IFLA_AF_SPEC (26) | NLA_F_NESTED, rta_len 20
  0x10, 0x00, 0x02, 0x80, //   AF_INET (2) | NLA_F_NESTED, rta_len 16
  0x0c, 0x00, 0x01, 0x80, //     IFLA_INET_CONF (1) | NLA_F_NESTED, rta_len 12
  0x08, 0x00, 0x14, 0x00, //       IPV4_DEVCONF_PROMOTE_SECONDARIES (20), rta_len 8
  0x01, 0x00, 0x00, 0x00, //       u32 1
);

// A link reply payload (no nlmsghdr): ifinfomsg, then IFLA_AF_SPEC with
// AF_INET's IFLA_INET_CONF array, setting 1 (forwarding) = 1 and setting
// 20 (promote_secondaries) = 1, the rest 0.
function linkWithConf(conf: number[]): Uint8Array {
  const confBytes = new Uint8Array(conf.length * 4);
  const v = new DataView(confBytes.buffer);
  conf.forEach((x, i) => v.setUint32(4 * i, x, true));
  const attr = (type: number, data: Uint8Array) => {
    const len = 4 + data.length;
    const out = new Uint8Array((len + 3) & ~3);
    new DataView(out.buffer).setUint16(0, len, true);
    new DataView(out.buffer).setUint16(2, type, true);
    out.set(data, 4);
    return out;
  };
  const spec = attr(26, attr(2, attr(1, confBytes))); // IFLA_AF_SPEC > AF_INET > IFLA_INET_CONF
  const ifinfo = Uint8Array.of(
    0,
    0,
    1,
    0,
    2,
    0,
    0,
    0,
    0x43,
    0x10,
    1,
    0,
    0,
    0,
    0,
    0,
  );
  const out = new Uint8Array(ifinfo.length + spec.length);
  out.set(ifinfo);
  out.set(spec, ifinfo.length);
  return out;
}

Deno.test("setInetConfRequest: the annotated bytes", () => {
  const got = setInetConfRequest(7, 2, IPV4_DEVCONF_PROMOTE_SECONDARIES, 1);
  assert.deepEqual(got, SET_PROMOTE);
});

Deno.test("decodeInetConf: reads the IPv4 settings of a link reply", () => {
  const conf = Array.from({ length: 33 }, () => 0);
  conf[0] = 1;
  conf[IPV4_DEVCONF_PROMOTE_SECONDARIES - 1] = 1;
  const got = decodeInetConf(linkWithConf(conf));
  assert.equal(got?.length, 33);
  assert.equal(got?.[IPV4_DEVCONF_PROMOTE_SECONDARIES - 1], 1);
  assert.equal(got?.[1], 0);
  // No IFLA_AF_SPEC (a link without IPv4): undefined.
  assert.equal(decodeInetConf(linkWithConf([]).subarray(0, 16)), undefined);
  // IFLA_INET_CONF of 6 bytes is no u32 array: an error, not a guess.
  const bad = linkWithConf([1, 0]);
  const v = new DataView(bad.buffer);
  v.setUint16(16, 4 + 4 + 4 + 6, true); // IFLA_AF_SPEC rta_len
  v.setUint16(20, 4 + 4 + 6, true); // AF_INET rta_len
  v.setUint16(24, 4 + 6, true); // IFLA_INET_CONF rta_len
  assert.throws(
    () => decodeInetConf(bad.subarray(0, 16 + 20)),
    NetlinkDecodeError,
  );
});

Deno.test("fuzz: decodeInetConf decodes or throws NetlinkDecodeError", () => {
  const conf = Array.from({ length: 33 }, (_, i) => i % 2);
  const s = fuzzDecoder("decodeInetConf", decodeInetConf, NetlinkDecodeError, [
    linkWithConf(conf),
    linkWithConf([1, 0, 1]),
  ]);
  assert.ok(s.decoded > 0 && s.rejected > 0, JSON.stringify(s));
});

import assert from "node:assert/strict";
import {
  type Attribute,
  decodeAttributes,
  encodeAttributes,
  NetlinkDecodeError,
} from "../../lib/netlink/_attributes.ts";
import {
  decodeDone,
  decodeError,
  decodeHeader,
  decodeMessages,
  encodeError,
  encodeHeader,
  encodeMessage,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSG_DONE,
  NLMSG_ERROR,
} from "../../lib/netlink/_message.ts";
import {
  type AddressMessage,
  decodeAddressMessage,
  decodeCacheInfo,
  decodeIfAddrMsg,
  deleteAddressRequest,
  encodeAddressMessage,
  encodeCacheInfo,
  encodeIfAddrMsg,
  getAddressDumpRequest,
  IFA_ADDRESS,
  IFA_F_NODAD,
  IFA_LOCAL,
  newAddressRequest,
  RTM_NEWADDR,
} from "../../lib/netlink/_address.ts";
import {
  decodeIfInfoMsg,
  decodeLinkMessage,
  encodeIfInfoMsg,
  encodeLinkMessage,
  getLinkByNameRequest,
  type LinkMessage,
  RTM_NEWLINK,
} from "../../lib/netlink/_link.ts";
import { fuzzDecoder, type Prng, property } from "../sys/_fuzz.ts";

const AF_INET = 2;
const AF_INET6 = 10;

// ---- fixtures ----------------------------------------------------------------

// RTM_NEWADDR, replace: 10.0.0.100/24 on ifindex 2, valid 10 s, preferred 0.
// deno-fmt-ignore
const REPLACE_V4 = Uint8Array.of(
  // nlmsghdr
  0x3c, 0x00, 0x00, 0x00, // nlmsg_len 60
  0x14, 0x00,             // nlmsg_type RTM_NEWADDR (20)
  0x05, 0x05,             // nlmsg_flags REQUEST|ACK|REPLACE|CREATE (0x505)
  0x01, 0x00, 0x00, 0x00, // nlmsg_seq 1
  0x00, 0x00, 0x00, 0x00, // nlmsg_pid 0
  // ifaddrmsg
  0x02,                   // ifa_family AF_INET
  0x18,                   // ifa_prefixlen 24
  0x00,                   // ifa_flags
  0x00,                   // ifa_scope universe
  0x02, 0x00, 0x00, 0x00, // ifa_index 2
  // IFA_LOCAL
  0x08, 0x00,             // rta_len 8
  0x02, 0x00,             // rta_type IFA_LOCAL
  0x0a, 0x00, 0x00, 0x64, // 10.0.0.100 (network order)
  // IFA_ADDRESS
  0x08, 0x00,             // rta_len 8
  0x01, 0x00,             // rta_type IFA_ADDRESS
  0x0a, 0x00, 0x00, 0x64, // 10.0.0.100
  // IFA_CACHEINFO
  0x14, 0x00,             // rta_len 20
  0x06, 0x00,             // rta_type IFA_CACHEINFO
  0x00, 0x00, 0x00, 0x00, // ifa_prefered 0
  0x0a, 0x00, 0x00, 0x00, // ifa_valid 10
  0x00, 0x00, 0x00, 0x00, // cstamp
  0x00, 0x00, 0x00, 0x00, // tstamp
);

// RTM_NEWADDR, exclusive add: fd00::100/64 on ifindex 3, valid 30, preferred 0, NODAD.
// deno-fmt-ignore
const ADD_V6 = Uint8Array.of(
  // nlmsghdr
  0x5c, 0x00, 0x00, 0x00, // nlmsg_len 92
  0x14, 0x00,             // nlmsg_type RTM_NEWADDR
  0x05, 0x06,             // nlmsg_flags REQUEST|ACK|EXCL|CREATE (0x605)
  0x02, 0x00, 0x00, 0x00, // nlmsg_seq 2
  0x00, 0x00, 0x00, 0x00, // nlmsg_pid 0
  // ifaddrmsg
  0x0a,                   // ifa_family AF_INET6
  0x40,                   // ifa_prefixlen 64
  0x02,                   // ifa_flags IFA_F_NODAD
  0x00,                   // ifa_scope
  0x03, 0x00, 0x00, 0x00, // ifa_index 3
  // IFA_LOCAL
  0x14, 0x00, 0x02, 0x00, // rta_len 20, IFA_LOCAL
  0xfd, 0x00, 0x00, 0x00, // fd00::100
  0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x01, 0x00,
  // IFA_ADDRESS
  0x14, 0x00, 0x01, 0x00, // rta_len 20, IFA_ADDRESS
  0xfd, 0x00, 0x00, 0x00, // fd00::100
  0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x01, 0x00,
  // IFA_CACHEINFO
  0x14, 0x00, 0x06, 0x00, // rta_len 20, IFA_CACHEINFO
  0x00, 0x00, 0x00, 0x00, // ifa_prefered 0
  0x1e, 0x00, 0x00, 0x00, // ifa_valid 30
  0x00, 0x00, 0x00, 0x00, // cstamp
  0x00, 0x00, 0x00, 0x00, // tstamp
  // IFA_FLAGS
  0x08, 0x00, 0x08, 0x00, // rta_len 8, IFA_FLAGS
  0x02, 0x00, 0x00, 0x00, // IFA_F_NODAD (u32, host order)
);

// RTM_DELADDR: 10.0.0.100/24 on ifindex 2. IFA_LOCAL must be there.
// deno-fmt-ignore
const DELETE_V4 = Uint8Array.of(
  // nlmsghdr
  0x28, 0x00, 0x00, 0x00, // nlmsg_len 40
  0x15, 0x00,             // nlmsg_type RTM_DELADDR (21)
  0x05, 0x00,             // nlmsg_flags REQUEST|ACK
  0x07, 0x00, 0x00, 0x00, // nlmsg_seq 7
  0x00, 0x00, 0x00, 0x00, // nlmsg_pid
  // ifaddrmsg
  0x02, 0x18, 0x00, 0x00, // AF_INET, /24, flags 0, scope 0
  0x02, 0x00, 0x00, 0x00, // ifa_index 2
  // IFA_LOCAL
  0x08, 0x00, 0x02, 0x00, // rta_len 8, IFA_LOCAL
  0x0a, 0x00, 0x00, 0x64, // 10.0.0.100
  // IFA_ADDRESS
  0x08, 0x00, 0x01, 0x00, // rta_len 8, IFA_ADDRESS
  0x0a, 0x00, 0x00, 0x64, // 10.0.0.100
);

// RTM_GETADDR dump request, all families.
// deno-fmt-ignore
const DUMP_ADDR = Uint8Array.of(
  0x18, 0x00, 0x00, 0x00, // nlmsg_len 24
  0x16, 0x00,             // nlmsg_type RTM_GETADDR (22)
  0x01, 0x03,             // nlmsg_flags REQUEST|DUMP (0x301)
  0x03, 0x00, 0x00, 0x00, // nlmsg_seq 3
  0x00, 0x00, 0x00, 0x00, // nlmsg_pid
  0x00, 0x00, 0x00, 0x00, // ifaddrmsg: family 0 (all), prefixlen, flags, scope
  0x00, 0x00, 0x00, 0x00, // ifa_index 0
);

// The kernel's ACK of REPLACE_V4 (NETLINK_CAP_ACK: only the header echoed).
// deno-fmt-ignore
const ACK = Uint8Array.of(
  0x24, 0x00, 0x00, 0x00, // nlmsg_len 36
  0x02, 0x00,             // nlmsg_type NLMSG_ERROR
  0x00, 0x01,             // nlmsg_flags NLM_F_CAPPED
  0x01, 0x00, 0x00, 0x00, // nlmsg_seq 1
  0xe1, 0x10, 0x00, 0x00, // nlmsg_pid 4321 (our port id)
  0x00, 0x00, 0x00, 0x00, // error 0: ACK
  0x3c, 0x00, 0x00, 0x00, // echoed nlmsg_len 60
  0x14, 0x00, 0x05, 0x05, // echoed type RTM_NEWADDR, flags 0x505
  0x01, 0x00, 0x00, 0x00, // echoed seq 1
  0x00, 0x00, 0x00, 0x00, // echoed pid
);

// EEXIST with an extended-ACK message.
// deno-fmt-ignore
const EEXIST = Uint8Array.of(
  0x48, 0x00, 0x00, 0x00, // nlmsg_len 72
  0x02, 0x00,             // nlmsg_type NLMSG_ERROR
  0x00, 0x03,             // nlmsg_flags CAPPED|ACK_TLVS
  0x02, 0x00, 0x00, 0x00, // nlmsg_seq 2
  0xe1, 0x10, 0x00, 0x00, // nlmsg_pid 4321
  0xef, 0xff, 0xff, 0xff, // error -17 (EEXIST)
  0x3c, 0x00, 0x00, 0x00, // echoed nlmsg_len
  0x14, 0x00, 0x05, 0x06, // echoed type RTM_NEWADDR, flags 0x605
  0x02, 0x00, 0x00, 0x00, // echoed seq 2
  0x00, 0x00, 0x00, 0x00, // echoed pid
  0x23, 0x00, 0x01, 0x00, // rta_len 35, NLMSGERR_ATTR_MSG
  0x69, 0x70, 0x76, 0x34, // "ipv4"
  0x3a, 0x20, 0x41, 0x64, // ": Ad"
  0x64, 0x72, 0x65, 0x73, // "dres"
  0x73, 0x20, 0x61, 0x6c, // "s al"
  0x72, 0x65, 0x61, 0x64, // "read"
  0x79, 0x20, 0x61, 0x73, // "y as"
  0x73, 0x69, 0x67, 0x6e, // "sign"
  0x65, 0x64, 0x00, 0x00, // "ed", NUL, padding
);

// An address dump reply: the host's 10.0.0.5/24 and a VIP, then DONE.
// deno-fmt-ignore
const ADDR_DUMP = Uint8Array.of(
  // --- message 1
  0x58, 0x00, 0x00, 0x00, // nlmsg_len 88
  0x14, 0x00,             // RTM_NEWADDR
  0x02, 0x00,             // NLM_F_MULTI
  0x05, 0x00, 0x00, 0x00, // seq 5
  0xe1, 0x10, 0x00, 0x00, // pid 4321
  0x02, 0x18, 0x80, 0x00, // AF_INET, /24, IFA_F_PERMANENT, scope universe
  0x02, 0x00, 0x00, 0x00, // ifa_index 2
  0x08, 0x00, 0x01, 0x00, // IFA_ADDRESS
  0x0a, 0x00, 0x00, 0x05, //   10.0.0.5
  0x08, 0x00, 0x02, 0x00, // IFA_LOCAL
  0x0a, 0x00, 0x00, 0x05, //   10.0.0.5
  0x08, 0x00, 0x04, 0x00, // IFA_BROADCAST
  0x0a, 0x00, 0x00, 0xff, //   10.0.0.255
  0x09, 0x00, 0x03, 0x00, // IFA_LABEL, rta_len 9
  0x65, 0x74, 0x68, 0x30, //   "eth0"
  0x00, 0x00, 0x00, 0x00, //   NUL + 3 bytes padding
  0x08, 0x00, 0x08, 0x00, // IFA_FLAGS
  0x80, 0x00, 0x00, 0x00, //   IFA_F_PERMANENT
  0x14, 0x00, 0x06, 0x00, // IFA_CACHEINFO
  0xff, 0xff, 0xff, 0xff, //   ifa_prefered forever
  0xff, 0xff, 0xff, 0xff, //   ifa_valid forever
  0x10, 0x27, 0x00, 0x00, //   cstamp 10000
  0x10, 0x27, 0x00, 0x00, //   tstamp 10000
  // --- message 2
  0x50, 0x00, 0x00, 0x00, // nlmsg_len 80
  0x14, 0x00,             // RTM_NEWADDR
  0x02, 0x00,             // NLM_F_MULTI
  0x05, 0x00, 0x00, 0x00, // seq 5
  0xe1, 0x10, 0x00, 0x00, // pid 4321
  0x02, 0x18, 0x21, 0x00, // AF_INET, /24, SECONDARY|DEPRECATED, universe
  0x02, 0x00, 0x00, 0x00, // ifa_index 2
  0x08, 0x00, 0x01, 0x00, // IFA_ADDRESS
  0x0a, 0x00, 0x00, 0x64, //   10.0.0.100
  0x08, 0x00, 0x02, 0x00, // IFA_LOCAL
  0x0a, 0x00, 0x00, 0x64, //   10.0.0.100
  0x09, 0x00, 0x03, 0x00, // IFA_LABEL, rta_len 9
  0x65, 0x74, 0x68, 0x30, //   "eth0"
  0x00, 0x00, 0x00, 0x00, //   NUL + padding
  0x08, 0x00, 0x08, 0x00, // IFA_FLAGS
  0x21, 0x00, 0x00, 0x00, //   SECONDARY|DEPRECATED
  0x14, 0x00, 0x06, 0x00, // IFA_CACHEINFO
  0x00, 0x00, 0x00, 0x00, //   ifa_prefered 0
  0x09, 0x00, 0x00, 0x00, //   ifa_valid 9
  0x20, 0x4e, 0x00, 0x00, //   cstamp 20000
  0x84, 0x4e, 0x00, 0x00, //   tstamp 20100
  // --- NLMSG_DONE
  0x14, 0x00, 0x00, 0x00, // nlmsg_len 20
  0x03, 0x00,             // NLMSG_DONE
  0x02, 0x00,             // NLM_F_MULTI
  0x05, 0x00, 0x00, 0x00, // seq 5
  0xe1, 0x10, 0x00, 0x00, // pid 4321
  0x00, 0x00, 0x00, 0x00, // status 0
);

// RTM_NEWLINK reply for eth0.
// deno-fmt-ignore
const LINK_ETH0 = Uint8Array.of(
  0x5c, 0x00, 0x00, 0x00, // nlmsg_len 92
  0x10, 0x00,             // RTM_NEWLINK
  0x00, 0x00,             // flags
  0x09, 0x00, 0x00, 0x00, // seq 9
  0xe1, 0x10, 0x00, 0x00, // pid 4321
  // ifinfomsg
  0x00, 0x00,             // ifi_family AF_UNSPEC, pad
  0x01, 0x00,             // ifi_type ARPHRD_ETHER
  0x02, 0x00, 0x00, 0x00, // ifi_index 2
  0x43, 0x10, 0x01, 0x00, // ifi_flags UP|BROADCAST|RUNNING|MULTICAST|LOWER_UP
  0x00, 0x00, 0x00, 0x00, // ifi_change
  0x09, 0x00, 0x03, 0x00, // IFLA_IFNAME, rta_len 9
  0x65, 0x74, 0x68, 0x30, //   "eth0"
  0x00, 0x00, 0x00, 0x00, //   NUL + padding
  0x08, 0x00, 0x04, 0x00, // IFLA_MTU
  0xdc, 0x05, 0x00, 0x00, //   1500
  0x05, 0x00, 0x10, 0x00, // IFLA_OPERSTATE, rta_len 5
  0x06, 0x00, 0x00, 0x00, //   6 = up, padding
  0x05, 0x00, 0x21, 0x00, // IFLA_CARRIER, rta_len 5
  0x01, 0x00, 0x00, 0x00, //   1, padding
  0x0a, 0x00, 0x01, 0x00, // IFLA_ADDRESS, rta_len 10
  0x02, 0x00, 0x00, 0x00, //   02:00:00:00:00:0a
  0x00, 0x0a, 0x00, 0x00, //   ..., padding
  0x0a, 0x00, 0x02, 0x00, // IFLA_BROADCAST, rta_len 10
  0xff, 0xff, 0xff, 0xff, //   ff:ff:ff:ff:ff:ff
  0xff, 0xff, 0x00, 0x00, //   ..., padding
);

const V4_VIP = Uint8Array.of(10, 0, 0, 100);
const V6_VIP = Uint8Array.of(0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0);

// ---- fixtures: encoding ----------------------------------------------------------

Deno.test("RTM_NEWADDR replace request matches the fixture", () => {
  assert.deepEqual(
    newAddressRequest(1, "replace", {
      family: AF_INET,
      prefixLength: 24,
      ifindex: 2,
      local: V4_VIP,
      cacheInfo: { preferred: 0, valid: 10, created: 0, updated: 0 },
    }),
    REPLACE_V4,
  );
});

Deno.test("RTM_NEWADDR exclusive IPv6 add with NODAD matches the fixture", () => {
  assert.deepEqual(
    newAddressRequest(2, "add", {
      family: AF_INET6,
      prefixLength: 64,
      flags: IFA_F_NODAD,
      ifindex: 3,
      local: V6_VIP,
      cacheInfo: { preferred: 0, valid: 30, created: 0, updated: 0 },
    }),
    ADD_V6,
  );
});

Deno.test("RTM_DELADDR always carries IFA_LOCAL", () => {
  const req = deleteAddressRequest(7, {
    family: AF_INET,
    prefixLength: 24,
    ifindex: 2,
    local: V4_VIP,
  });
  assert.deepEqual(req, DELETE_V4);
  const [msg] = decodeMessages(req);
  const attrs = decodeAttributes(msg.payload.subarray(8));
  assert.deepEqual(attrs.find((a) => a.type === IFA_LOCAL)?.data, V4_VIP);
  assert.deepEqual(attrs.find((a) => a.type === IFA_ADDRESS)?.data, V4_VIP);
});

Deno.test("dump and get-link requests", () => {
  assert.deepEqual(getAddressDumpRequest(3), DUMP_ADDR);
  const [m] = decodeMessages(getLinkByNameRequest(4, "eth0"));
  assert.equal(m.header.type, 18);
  assert.equal(m.header.flags, 0x5); // REQUEST|ACK, not DUMP
  assert.deepEqual(decodeAttributes(m.payload.subarray(16)), [
    { type: 3, data: new TextEncoder().encode("eth0\0") },
  ]);
});

Deno.test("request builders refuse out-of-range values", () => {
  const base = { family: AF_INET, ifindex: 2, local: V4_VIP };
  assert.throws(
    () => encodeAddressMessage({ ...base, prefixLength: 33 }),
    RangeError,
  );
  assert.throws(
    () => encodeAddressMessage({ ...base, prefixLength: 24, local: V6_VIP }),
    RangeError,
  );
  assert.throws(
    () => encodeAddressMessage({ ...base, family: 7, prefixLength: 24 }),
    RangeError,
  );
  assert.throws(
    () => encodeHeader({ length: 16, type: 0x10000, flags: 0, seq: 0, pid: 0 }),
    RangeError,
  );
  assert.throws(
    () => encodeAttributes([{ type: 1, data: new Uint8Array(0xfffc) }]),
    RangeError,
  );
});

// ---- fixtures: decoding ----------------------------------------------------------

Deno.test("an ACK decodes to errno 0 with the echoed request header", () => {
  const [m] = decodeMessages(ACK);
  assert.deepEqual(m.header, {
    length: 36,
    type: NLMSG_ERROR,
    flags: NLM_F_CAPPED,
    seq: 1,
    pid: 4321,
  });
  assert.deepEqual(decodeError(m.payload, m.header.flags), {
    errno: 0,
    request: { length: 60, type: RTM_NEWADDR, flags: 0x505, seq: 1, pid: 0 },
  });
});

Deno.test("an error decodes to its errno and the kernel's message", () => {
  const [m] = decodeMessages(EEXIST);
  const e = decodeError(m.payload, m.header.flags);
  assert.equal(e.errno, 17);
  assert.equal(e.message, "ipv4: Address already assigned");
  assert.equal(e.request?.seq, 2);
});

Deno.test("an address dump decodes to two addresses and DONE", () => {
  const msgs = decodeMessages(ADDR_DUMP);
  assert.deepEqual(msgs.map((m) => m.header.type), [
    RTM_NEWADDR,
    RTM_NEWADDR,
    NLMSG_DONE,
  ]);
  assert.deepEqual(
    decodeAddressMessage(msgs[0].payload),
    {
      family: AF_INET,
      prefixLength: 24,
      flags: 0x80,
      scope: 0,
      ifindex: 2,
      address: Uint8Array.of(10, 0, 0, 5),
      local: Uint8Array.of(10, 0, 0, 5),
      label: "eth0",
      cacheInfo: {
        preferred: 0xffffffff,
        valid: 0xffffffff,
        created: 10000,
        updated: 10000,
      },
    } satisfies AddressMessage,
  );
  const vip = decodeAddressMessage(msgs[1].payload);
  assert.equal(vip.flags, 0x21);
  assert.deepEqual(vip.local, V4_VIP);
  assert.deepEqual(vip.cacheInfo, {
    preferred: 0,
    valid: 9,
    created: 20000,
    updated: 20100,
  });
  assert.equal(decodeDone(msgs[2].payload), 0);
});

Deno.test("a link reply decodes to name, MAC, MTU, state and carrier", () => {
  const [m] = decodeMessages(LINK_ETH0);
  assert.equal(m.header.type, RTM_NEWLINK);
  assert.deepEqual(
    decodeLinkMessage(m.payload),
    {
      ifindex: 2,
      type: 1,
      flags: 0x11043,
      name: "eth0",
      address: Uint8Array.of(2, 0, 0, 0, 0, 0x0a),
      mtu: 1500,
      operState: 6,
      carrier: 1,
    } satisfies LinkMessage,
  );
});

Deno.test("decoders reject what the kernel never sends, with offsets", () => {
  // nlmsg_len below the header size
  assert.throws(
    () =>
      decodeMessages(
        Uint8Array.of(8, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
      ),
    NetlinkDecodeError,
  );
  // nlmsg_len past the end
  const long = ACK.slice();
  long[0] = 200;
  assert.throws(() => decodeMessages(long), /exceeds/);
  // a trailing partial header
  assert.throws(
    () => decodeMessages(Uint8Array.of(...ACK, 1, 2, 3, 4)),
    /trailing/,
  );
  // rta_len 2
  assert.throws(
    () => decodeAttributes(Uint8Array.of(2, 0, 1, 0)),
    /rta_len 2 < 4/,
  );
  // an IPv4 address attribute of 5 bytes
  const bad = concat(
    encodeIfAddrMsg({
      family: AF_INET,
      prefixLength: 24,
      flags: 0,
      scope: 0,
      ifindex: 1,
    }),
    encodeAttributes([{ type: IFA_LOCAL, data: new Uint8Array(5) }]),
  );
  assert.throws(() => decodeAddressMessage(bad), NetlinkDecodeError);
  // a positive error code
  assert.throws(
    () => decodeError(Uint8Array.of(1, 0, 0, 0)),
    NetlinkDecodeError,
  );
  // short structures
  assert.throws(() => decodeIfAddrMsg(new Uint8Array(7)), NetlinkDecodeError);
  assert.throws(() => decodeIfInfoMsg(new Uint8Array(15)), NetlinkDecodeError);
  assert.throws(() => decodeCacheInfo(new Uint8Array(15)), NetlinkDecodeError);
  assert.throws(() => decodeHeader(new Uint8Array(15)), NetlinkDecodeError);
});

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// ---- round trips -------------------------------------------------------------------

function randomAttrs(prng: Prng): Attribute[] {
  const out: Attribute[] = [];
  for (let i = prng.int(0, 6); i > 0; i--) {
    out.push({ type: prng.int(0, 0xffff), data: prng.bytes(prng.int(0, 40)) });
  }
  return out;
}

Deno.test("decode(encode(x)) == x for headers, messages and attributes", () => {
  property("netlink round trip", 3000, (prng) => {
    const h = {
      length: prng.u32(),
      type: prng.int(0, 0xffff),
      flags: prng.int(0, 0xffff),
      seq: prng.u32(),
      pid: prng.u32(),
    };
    assert.deepEqual(decodeHeader(encodeHeader(h)), h);

    const attrs = randomAttrs(prng);
    assert.deepEqual(decodeAttributes(encodeAttributes(attrs)), attrs);

    const msgs = Array.from({ length: prng.int(1, 4) }, () => ({
      type: prng.int(0, 0xffff),
      flags: prng.int(0, 0xffff),
      seq: prng.u32(),
      pid: prng.u32(),
      payload: prng.bytes(prng.int(0, 50)),
    }));
    const decoded = decodeMessages(concat(...msgs.map(encodeMessage)));
    assert.deepEqual(
      decoded,
      msgs.map((m) => ({
        header: {
          length: 16 + m.payload.length,
          type: m.type,
          flags: m.flags,
          seq: m.seq,
          pid: m.pid,
        },
        payload: m.payload,
      })),
    );
  });
});

Deno.test("decode(encode(x)) == x for ifaddrmsg, ifinfomsg and cacheinfo", () => {
  property("struct round trip", 3000, (prng) => {
    const a = {
      family: prng.int(0, 255),
      prefixLength: prng.int(0, 255),
      flags: prng.int(0, 255),
      scope: prng.int(0, 255),
      ifindex: prng.u32(),
    };
    assert.deepEqual(decodeIfAddrMsg(encodeIfAddrMsg(a)), a);
    const i = {
      family: prng.int(0, 255),
      type: prng.int(0, 0xffff),
      ifindex: prng.u32() | 0,
      flags: prng.u32(),
      change: prng.u32(),
    };
    assert.deepEqual(decodeIfInfoMsg(encodeIfInfoMsg(i)), i);
    const c = {
      preferred: prng.u32(),
      valid: prng.u32(),
      created: prng.u32(),
      updated: prng.u32(),
    };
    assert.deepEqual(decodeCacheInfo(encodeCacheInfo(c)), c);
  });
});

Deno.test("decode(encode(x)) == x for address, link and error messages", () => {
  property("message round trip", 3000, (prng) => {
    const v6 = prng.chance(0.5);
    const len = v6 ? 16 : 4;
    const flags = prng.chance(0.5) ? 0 : prng.u32();
    const local = prng.bytes(len);
    const address = prng.chance(0.3) ? prng.bytes(len) : undefined;
    const label = !v6 && prng.chance(0.5)
      ? `eth${prng.int(0, 99)}:v`
      : undefined;
    const cacheInfo = prng.chance(0.7)
      ? {
        preferred: prng.u32(),
        valid: prng.u32(),
        created: prng.u32(),
        updated: prng.u32(),
      }
      : undefined;
    const input = {
      family: v6 ? AF_INET6 : AF_INET,
      prefixLength: prng.int(0, len * 8),
      flags,
      scope: prng.int(0, 255),
      ifindex: prng.u32(),
      local,
      address,
      label,
      cacheInfo,
    };
    const want: AddressMessage = {
      family: input.family,
      prefixLength: input.prefixLength,
      // Without IFA_FLAGS only the low byte travels (in ifa_flags).
      flags,
      scope: input.scope,
      ifindex: input.ifindex,
      local,
      address: address ?? local,
    };
    if (label !== undefined) want.label = label;
    if (cacheInfo !== undefined) want.cacheInfo = cacheInfo;
    assert.deepEqual(decodeAddressMessage(encodeAddressMessage(input)), want);

    const link: LinkMessage = {
      ifindex: prng.u32() | 0,
      type: prng.int(0, 0xffff),
      flags: prng.u32(),
      name: `if${prng.int(0, 1e6)}`,
      address: prng.bytes(prng.int(0, 8)),
      mtu: prng.u32(),
      operState: prng.int(0, 255),
    };
    if (prng.chance(0.5)) link.carrier = prng.int(0, 255);
    assert.deepEqual(decodeLinkMessage(encodeLinkMessage(link)), link);

    const withRequest = prng.chance(0.7);
    const err = {
      errno: prng.int(0, 0x7fffffff),
      request: withRequest
        ? {
          length: prng.u32(),
          type: prng.int(0, 0xffff),
          flags: prng.int(0, 0xffff),
          seq: prng.u32(),
          pid: prng.u32(),
        }
        : undefined,
      message: withRequest && prng.chance(0.5)
        ? `msg ${prng.u32()}`
        : undefined,
    };
    const errFlags = NLM_F_CAPPED |
      (err.message !== undefined ? NLM_F_ACK_TLVS : 0);
    const got = decodeError(encodeError(err), errFlags);
    assert.deepEqual(
      got,
      Object.fromEntries(
        Object.entries(err).filter(([, v]) => v !== undefined),
      ),
    );
  });
});

// ---- fuzz --------------------------------------------------------------------------

/** What route.ts does with a datagram: split, then decode by type. */
function decodeReply(b: Uint8Array): unknown[] {
  return decodeMessages(b).map((m) => {
    switch (m.header.type) {
      case NLMSG_ERROR:
        return decodeError(m.payload, m.header.flags);
      case NLMSG_DONE:
        return decodeDone(m.payload);
      case RTM_NEWADDR:
        return decodeAddressMessage(m.payload);
      case RTM_NEWLINK:
        return decodeLinkMessage(m.payload);
      default:
        return m;
    }
  });
}

const ALL_FIXTURES = [
  REPLACE_V4,
  ADD_V6,
  DELETE_V4,
  DUMP_ADDR,
  ACK,
  EEXIST,
  ADDR_DUMP,
  LINK_ETH0,
];

Deno.test("fuzz: kernel replies decode or throw NetlinkDecodeError", () => {
  const s = fuzzDecoder(
    "decodeReply",
    decodeReply,
    NetlinkDecodeError,
    ALL_FIXTURES,
    30_000,
  );
  // Both outcomes must actually occur, or the fuzzer tests nothing.
  assert.ok(s.decoded > 0 && s.rejected > 0, JSON.stringify(s));
});

Deno.test("fuzz: each netlink decoder decodes or throws NetlinkDecodeError", () => {
  const payloads = ALL_FIXTURES.flatMap((f) =>
    decodeMessages(f).map((m) => m.payload)
  );
  fuzzDecoder(
    "decodeMessages",
    decodeMessages,
    NetlinkDecodeError,
    ALL_FIXTURES,
  );
  fuzzDecoder(
    "decodeAttributes",
    (b) => decodeAttributes(b),
    NetlinkDecodeError,
    payloads,
  );
  fuzzDecoder(
    "decodeAddressMessage",
    decodeAddressMessage,
    NetlinkDecodeError,
    payloads,
  );
  fuzzDecoder(
    "decodeLinkMessage",
    decodeLinkMessage,
    NetlinkDecodeError,
    payloads,
  );
  fuzzDecoder(
    "decodeError",
    (b) => decodeError(b, b.length > 0 ? (b[0] << 8) & 0x300 : 0),
    NetlinkDecodeError,
    payloads,
  );
  fuzzDecoder("decodeDone", decodeDone, NetlinkDecodeError, payloads);
});

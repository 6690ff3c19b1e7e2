import assert from "node:assert/strict";
import {
  encodeControlMessages,
  IPPROTO_IPV6,
  IPV6_HOPLIMIT,
  IPV6_PKTINFO,
  ipv6HopLimit,
  ipv6PacketInfo,
  parseControlMessages,
  SOL_SOCKET,
} from "../../lib/sys/mod.ts";
import { property } from "./_fuzz.ts";

function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  return Uint8Array.from(clean.match(/../g)!, (h) => parseInt(h, 16));
}

// What recvmsg hands back on x86_64 for a VRRP packet to ff02::12 on
// ifindex 2 with hop limit 255, after IPV6_RECVPKTINFO and IPV6_RECVHOPLIMIT.
const CONTROL = hex(
  // cmsghdr: cmsg_len 36 (16 + 20), level 41 (IPPROTO_IPV6), type 50 (PKTINFO)
  "2400000000000000 29000000 32000000" +
    "ff020000000000000000000000000012" + // ipi6_addr ff02::12
    "02000000" + // ipi6_ifindex 2
    "00000000" + // padding to 8
    // cmsghdr: cmsg_len 20 (16 + 4), level 41, type 52 (HOPLIMIT)
    "1400000000000000 29000000 34000000" +
    "ff000000" + // int 255
    "00000000", // padding
);

Deno.test("control messages: the kernel's layout, annotated", () => {
  const msgs = parseControlMessages(CONTROL);
  assert.equal(msgs.length, 2);
  assert.deepEqual(
    msgs.map((m) => [m.level, m.type, m.data.length]),
    [[IPPROTO_IPV6, IPV6_PKTINFO, 20], [IPPROTO_IPV6, IPV6_HOPLIMIT, 4]],
  );
  assert.equal(ipv6HopLimit(msgs), 255);
  const info = ipv6PacketInfo(msgs)!;
  assert.deepEqual(info.address, hex("ff020000000000000000000000000012"));
  assert.equal(info.ifindex, 2);
  assert.deepEqual(encodeControlMessages(msgs), CONTROL);
  // The kernel's own buffer may end without the last padding.
  assert.equal(parseControlMessages(CONTROL.subarray(0, 60)).length, 2);
});

Deno.test("control messages: absent, other levels, too short", () => {
  assert.equal(ipv6HopLimit([]), null);
  assert.equal(ipv6PacketInfo([]), null);
  const other = [{
    level: SOL_SOCKET,
    type: IPV6_HOPLIMIT,
    data: new Uint8Array(4),
  }];
  assert.equal(ipv6HopLimit(other), null);
  const short = [{
    level: IPPROTO_IPV6,
    type: IPV6_PKTINFO,
    data: new Uint8Array(8),
  }];
  assert.equal(ipv6PacketInfo(short), null);
});

Deno.test("fuzz: parseControlMessages never throws or reads past the end", () => {
  property("cmsg", 5000, (prng) => {
    const bytes = prng.chance(0.5) ? prng.bytes(prng.int(0, 80)) : (() => {
      const b = CONTROL.slice(0, prng.int(0, CONTROL.length));
      for (let i = prng.int(0, 3); i > 0 && b.length > 0; i--) {
        b[prng.int(0, b.length - 1)] ^= 1 << prng.int(0, 7);
      }
      return b;
    })();
    const msgs = parseControlMessages(bytes);
    let end = 0;
    for (const m of msgs) {
      assert.ok(
        m.data.byteOffset - bytes.byteOffset + m.data.length <= bytes.length,
      );
      end = m.data.byteOffset + m.data.length;
    }
    assert.ok(end - bytes.byteOffset <= bytes.length);
    ipv6HopLimit(msgs);
    ipv6PacketInfo(msgs);
  });
});

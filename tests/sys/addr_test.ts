import { parseMac } from "../../lib/ip/mod.ts";
import assert from "node:assert/strict";
import {
  intOption,
  ipMreqn,
  parseSockaddrIn,
  parseSockaddrIn6,
  parseSockaddrNl,
  sockaddrIn,
  sockaddrIn6,
  sockaddrLl,
  sockaddrNl,
} from "../../lib/sys/mod.ts";
import { fuzzDecoder } from "./_fuzz.ts";

// deno-fmt-ignore
const SOCKADDR_IN_FIXTURE = Uint8Array.of(
  0x02, 0x00,             // sin_family AF_INET (host order)
  0x12, 0x34,             // sin_port 0x1234 (network order)
  10, 1, 2, 3,            // sin_addr 10.1.2.3
  0, 0, 0, 0, 0, 0, 0, 0, // sin_zero
);

Deno.test("sockaddr_in layout", () => {
  assert.deepEqual(sockaddrIn("10.1.2.3", 0x1234), SOCKADDR_IN_FIXTURE);
  assert.deepEqual(parseSockaddrIn(SOCKADDR_IN_FIXTURE), {
    address: "10.1.2.3",
    bytes: Uint8Array.of(10, 1, 2, 3),
    port: 0x1234,
  });
});

// deno-fmt-ignore
const SOCKADDR_IN6_FIXTURE = Uint8Array.of(
  0x0a, 0x00,             // sin6_family AF_INET6 = 10 (host order)
  0x00, 0x00,             // sin6_port
  0x00, 0x00, 0x00, 0x00, // sin6_flowinfo
  0xff, 0x02, 0x00, 0x00, // sin6_addr ff02::1 ...
  0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x01, // ... (end of sin6_addr)
  0x03, 0x00, 0x00, 0x00, // sin6_scope_id = ifindex 3 (host order)
);

Deno.test("sockaddr_in6 layout", () => {
  assert.deepEqual(
    sockaddrIn6("ff02::1", { scopeId: 3 }),
    SOCKADDR_IN6_FIXTURE,
  );
  const p = parseSockaddrIn6(SOCKADDR_IN6_FIXTURE);
  assert.equal(p.address, "ff02::1");
  assert.equal(p.scopeId, 3);
  assert.equal(p.port, 0);
});

// deno-fmt-ignore
const SOCKADDR_LL_FIXTURE = Uint8Array.of(
  0x11, 0x00,             // sll_family AF_PACKET = 17 (host order)
  0x08, 0x06,             // sll_protocol ETH_P_ARP (network order)
  0x04, 0x00, 0x00, 0x00, // sll_ifindex 4 (host order)
  0x00, 0x00,             // sll_hatype (ignored on send)
  0x00,                   // sll_pkttype (ignored on send)
  0x06,                   // sll_halen 6
  0xff, 0xff, 0xff, 0xff, // sll_addr: broadcast ...
  0xff, 0xff, 0x00, 0x00, // ... padded to 8 bytes
);

Deno.test("sockaddr_ll layout for an ARP broadcast", () => {
  assert.deepEqual(
    sockaddrLl({
      protocol: 0x0806,
      ifindex: 4,
      address: parseMac("ff:ff:ff:ff:ff:ff"),
    }),
    SOCKADDR_LL_FIXTURE,
  );
});

// deno-fmt-ignore
const SOCKADDR_NL_FIXTURE = Uint8Array.of(
  0x10, 0x00,             // nl_family AF_NETLINK = 16 (host order)
  0x00, 0x00,             // nl_pad
  0x04, 0x03, 0x02, 0x01, // nl_pid 0x01020304 (host order)
  0x10, 0x00, 0x00, 0x00, // nl_groups 0x10
);

// deno-fmt-ignore
const IP_MREQN_FIXTURE = Uint8Array.of(
  224, 0, 0, 18, // imr_multiaddr 224.0.0.18
  0, 0, 0, 0,    // imr_address (any)
  2, 0, 0, 0,    // imr_ifindex 2 (host order)
);

Deno.test("sockaddr_nl, ip_mreqn and int option layouts", () => {
  assert.deepEqual(
    sockaddrNl({ pid: 0x01020304, groups: 0x10 }),
    SOCKADDR_NL_FIXTURE,
  );
  assert.deepEqual(parseSockaddrNl(SOCKADDR_NL_FIXTURE), {
    pid: 0x01020304,
    groups: 0x10,
  });
  assert.deepEqual(
    ipMreqn({ group: "224.0.0.18", ifindex: 2 }),
    IP_MREQN_FIXTURE,
  );
  assert.deepEqual(intOption(255), Uint8Array.of(255, 0, 0, 0));
});

Deno.test("sockaddr parsers reject short or foreign input with RangeError", () => {
  fuzzDecoder("parseSockaddrIn", parseSockaddrIn, RangeError, [
    sockaddrIn("1.2.3.4", 9),
  ]);
  fuzzDecoder("parseSockaddrIn6", parseSockaddrIn6, RangeError, [
    sockaddrIn6("fe80::1", { scopeId: 2 }),
  ]);
  fuzzDecoder("parseSockaddrNl", parseSockaddrNl, RangeError, [
    sockaddrNl({ pid: 5 }),
  ]);
});

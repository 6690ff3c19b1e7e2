/**
 * The VIP among the interface's addresses (pure): ha-vip's marks, the
 * node's own address as a VIP, the subnet rule, and which addresses a VIP
 * that became its subnet's primary would take with it.
 */
import assert from "node:assert/strict";
import {
  carriesVipMarks,
  holdBlocks,
  ownAddressConflict,
  ownSubnetAddresses,
  secondariesOfVip,
  subnetText,
} from "../../lib/announce/mod.ts";
import { parseCidr } from "../../lib/ip/mod.ts";
import type { Address } from "../../lib/netlink/mod.ts";

const FOREVER = 0xffffffff;
const SECONDARY = 0x01;

/** An IPv4 address of eth0 (#2); permanent unless told otherwise. */
function addr(
  cidr: string,
  o: { valid?: number; preferred?: number; secondary?: boolean } = {},
): Address {
  const [address, len] = cidr.split("/");
  return {
    address,
    prefixLength: Number(len),
    family: address.includes(":") ? 6 : 4,
    ifindex: 2,
    label: "eth0",
    flags: o.secondary ? SECONDARY : 0,
    validLft: o.valid ?? FOREVER,
    preferredLft: o.preferred ?? FOREVER,
  };
}

const VIP = parseCidr("10.0.0.100/24");
const OWN = addr("10.0.0.1/24");
const vipEntry = (o: { secondary?: boolean } = {}) =>
  addr("10.0.0.100/24", { valid: 4, preferred: 0, ...o });

Deno.test("marks: preferred_lft 0 and a finite valid lifetime, both", () => {
  assert.equal(carriesVipMarks({ preferredLft: 0, validLft: 4 }), true);
  assert.equal(carriesVipMarks({ preferredLft: 0, validLft: FOREVER }), false);
  assert.equal(carriesVipMarks({ preferredLft: 300, validLft: 600 }), false);
  assert.equal(
    carriesVipMarks({ preferredLft: FOREVER, validLft: FOREVER }),
    false,
  );
});

Deno.test("own address as VIP: refused at any prefix length, a leftover VIP is not", () => {
  const own = parseCidr("10.0.0.1/24");
  assert.match(
    ownAddressConflict(own, [OWN], "eth0")!,
    /^10\.0\.0\.1 is already an address of eth0 \(10\.0\.0\.1\/24, valid forever, preferred forever\): the node's own/,
  );
  assert.ok(ownAddressConflict(parseCidr("10.0.0.1/32"), [OWN], "eth0"));
  // A DHCP-style address: finite, but preferred.
  assert.match(
    ownAddressConflict(VIP, [
      OWN,
      addr("10.0.0.100/24", { valid: 600, preferred: 300 }),
    ], "eth0")!,
    /valid 600s, preferred 300s/,
  );
  assert.equal(ownAddressConflict(VIP, [OWN, vipEntry()], "eth0"), null);
  assert.equal(ownAddressConflict(VIP, [OWN], "eth0"), null);
});

Deno.test("subnet: only same-prefix, same-subnet, unmarked addresses count", () => {
  assert.deepEqual(ownSubnetAddresses(VIP, [OWN, vipEntry()]), [OWN]);
  assert.deepEqual(ownSubnetAddresses(VIP, [addr("10.0.0.1/16")]), []);
  assert.deepEqual(ownSubnetAddresses(VIP, [addr("10.0.1.1/24")]), []);
  // Another VIP in the subnet is nobody's own address.
  assert.deepEqual(
    ownSubnetAddresses(VIP, [
      addr("10.0.0.101/24", { valid: 4, preferred: 0 }),
    ]),
    [],
  );
  assert.equal(subnetText(VIP), "10.0.0.0/24");
  assert.equal(subnetText(parseCidr("10.1.2.3/15")), "10.0.0.0/15");
  assert.equal(subnetText(parseCidr("fd00::1:2/64")), "fd00::/64");
});

Deno.test("hold blocks: a missing source address and a missing subnet, each named", () => {
  const required = [{
    address: "10.0.0.1",
    reason: "cannot advertise: no source address",
  }];
  assert.deepEqual(
    holdBlocks({ vip: VIP, ifname: "eth0", addrs: [OWN], required }),
    [],
  );
  assert.deepEqual(
    holdBlocks({ vip: VIP, ifname: "eth0", addrs: [], required }),
    [
      {
        cause: "source",
        reason: "cannot advertise: no source address (10.0.0.1 is not on eth0)",
      },
      {
        cause: "subnet",
        reason:
          "no own address in the VIP's subnet 10.0.0.0/24 on eth0 (holding the VIP would make it that subnet's primary address)",
      },
    ],
  );
  // Source elsewhere, subnet missing.
  assert.deepEqual(
    holdBlocks({
      vip: VIP,
      ifname: "eth0",
      addrs: [addr("10.99.0.1/24")],
    }).map((b) => b.cause),
    ["subnet"],
  );
  // /32 and IPv6 VIPs have no subnet to share.
  for (const v of ["10.0.0.100/32", "fd00::100/64"]) {
    assert.deepEqual(
      holdBlocks({ vip: parseCidr(v), ifname: "eth0", addrs: [] }),
      [],
    );
  }
});

Deno.test("secondaries of the VIP: only when the VIP is the subnet's primary", () => {
  // The usual order: the node's address first, the VIP its secondary.
  assert.deepEqual(
    secondariesOfVip(VIP, [OWN, vipEntry({ secondary: true })]),
    [],
  );
  // After a flap: the VIP is the primary, the node's address its secondary.
  const ownSecondary = addr("10.0.0.1/24", { secondary: true });
  assert.deepEqual(secondariesOfVip(VIP, [vipEntry(), ownSecondary]), [
    ownSecondary,
  ]);
  assert.deepEqual(secondariesOfVip(VIP, [vipEntry()]), []);
  assert.deepEqual(secondariesOfVip(VIP, [OWN]), []);
});

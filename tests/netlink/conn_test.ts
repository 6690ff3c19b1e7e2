/**
 * The connection and watcher layers against a fake transport (the way
 * mdlayher/netlink's nltest.Dial tests a Conn): request/reply matching,
 * dump retries, errors as SysError kinds, and notifications as events.
 * No root, no kernel.
 */
import assert from "node:assert/strict";
import {
  encodeAddressMessage,
  RTM_DELADDR,
  RTM_NEWADDR,
} from "../../lib/netlink/_address.ts";
import {
  AttributeDecoder,
  encodeAttributes,
  NetlinkDecodeError,
  stringAttr,
  u32Attr,
} from "../../lib/netlink/_attributes.ts";
import {
  encodeLinkMessage,
  IFF_LOWER_UP,
  IFF_UP,
  RTM_DELLINK,
  RTM_NEWLINK,
} from "../../lib/netlink/_link.ts";
import {
  decodeMessages,
  encodeError,
  encodeMessage,
  NLM_F_DUMP_INTR,
  NLM_F_MULTI,
  NLMSG_DONE,
  NLMSG_ERROR,
} from "../../lib/netlink/_message.ts";
import { decodeRouteEvents } from "../../lib/netlink/_watch.ts";
import {
  type NetlinkDatagram,
  type NetlinkTransport,
  RouteSocket,
  routeWatcher,
} from "../../lib/netlink/mod.ts";
import {
  Errno,
  isExist,
  isNotExist,
  isTimeout,
  SysError,
} from "../../lib/sys/mod.ts";

const PORT = 4242;

/** A transport whose kernel is `answer`: requests in, datagrams out. */
function fakeTransport(
  answer: (req: { type: number; seq: number; flags: number }) => Uint8Array[],
): NetlinkTransport & { sent: number } {
  const queue: NetlinkDatagram[] = [];
  let closed = false;
  const t = {
    portId: PORT,
    sent: 0,
    get closed() {
      return closed;
    },
    send(data: Uint8Array) {
      t.sent++;
      const [m] = decodeMessages(data);
      for (const d of answer(m.header)) {
        queue.push({ data: d, fromKernel: true, truncated: false });
      }
    },
    recv() {
      return Promise.resolve(queue.shift() ?? null);
    },
    close() {
      closed = true;
    },
    [Symbol.dispose]() {
      closed = true;
    },
  };
  return t;
}

function reply(
  seq: number,
  type: number,
  payload: Uint8Array,
  flags = 0,
  pid = PORT,
): Uint8Array {
  return encodeMessage({ type, flags, seq, pid, payload });
}

function ack(seq: number, errno = 0): Uint8Array {
  return reply(seq, NLMSG_ERROR, encodeError({ errno }));
}

function done(seq: number, flags = NLM_F_MULTI): Uint8Array {
  return reply(seq, NLMSG_DONE, new Uint8Array(4), flags);
}

const ETH0 = encodeLinkMessage({
  ifindex: 2,
  type: 1,
  flags: IFF_UP | IFF_LOWER_UP,
  name: "eth0",
  address: Uint8Array.of(2, 0, 0, 0, 0, 1),
  mtu: 1500,
  operState: 6,
  carrier: 1,
});

function addressPayload(address: number[], ifindex = 2): Uint8Array {
  return encodeAddressMessage({
    family: 2,
    prefixLength: 24,
    ifindex,
    local: Uint8Array.from(address),
    cacheInfo: { preferred: 0, valid: 4, created: 0, updated: 0 },
  });
}

Deno.test("a reply to an earlier sequence number or another port is skipped", async () => {
  using route = new RouteSocket(fakeTransport((req) => [
    reply(req.seq - 1, RTM_NEWLINK, ETH0), // stale: a request that timed out
    reply(req.seq, RTM_NEWLINK, ETH0, 0, PORT + 1), // not ours
    reply(req.seq, RTM_NEWLINK, ETH0),
    ack(req.seq),
  ]));
  const link = await route.getLink("eth0");
  assert.equal(link.index, 2);
  assert.equal(link.mac, "02:00:00:00:00:01");
  assert.equal(link.up && link.carrier, true);
});

Deno.test("an interrupted dump is asked again; three in a row fail with EINTR", async () => {
  let dumps = 0;
  const interruptedOnce = fakeTransport((req) => {
    dumps++;
    const flags = NLM_F_MULTI | (dumps === 1 ? NLM_F_DUMP_INTR : 0);
    return [
      reply(req.seq, RTM_NEWADDR, addressPayload([10, 0, 0, 1]), flags),
      done(req.seq),
    ];
  });
  using route = new RouteSocket(interruptedOnce);
  const listed = await route.listAddresses({ link: 2, family: 4 });
  assert.deepEqual(listed.map((a) => a.address), ["10.0.0.1"]);
  assert.equal(interruptedOnce.sent, 2);

  using always = new RouteSocket(fakeTransport((req) => [
    reply(req.seq, RTM_NEWADDR, addressPayload([10, 0, 0, 1]), NLM_F_MULTI),
    done(req.seq, NLM_F_MULTI | NLM_F_DUMP_INTR),
  ]));
  const err = await always.listAddresses().catch((e) => e);
  assert.ok(err instanceof SysError);
  assert.equal(err.errno, Errno.EINTR);
  assert.match(err.message, /interrupted by changes 3 times/);
});

Deno.test("kernel errors are SysErrors with kinds, never told apart by text", async () => {
  using exists = new RouteSocket(
    fakeTransport((req) => [ack(req.seq, Errno.EEXIST)]),
  );
  const e1 = await exists.addAddress({
    ifindex: 2,
    address: "10.0.0.100",
    prefixLength: 24,
    validLft: 4,
    preferredLft: 0,
  }).catch((e) => e);
  assert.ok(isExist(e1), String(e1));
  assert.match(e1.message, /^add address 10\.0\.0\.100\/24 on /);

  using missing = new RouteSocket(
    fakeTransport((req) => [ack(req.seq, Errno.EADDRNOTAVAIL)]),
  );
  const vip = { ifindex: 2, address: "10.0.0.100", prefixLength: 24 };
  assert.equal(
    await missing.deleteAddress({ ...vip, ignoreMissing: true }),
    false,
  );
  const e2 = await missing.deleteAddress(vip).catch((e) => e);
  assert.ok(isNotExist(e2));

  using silent = new RouteSocket(fakeTransport(() => []));
  const e3 = await silent.getLinkByIndex(2, { timeoutMs: 5 }).catch((e) => e);
  assert.ok(isTimeout(e3), String(e3));
});

Deno.test("the attribute decoder keeps the first error and stops", () => {
  const good = encodeAttributes([u32Attr(4, 1500), stringAttr(3, "eth0")]);
  const bad = new Uint8Array([...good, 0x02, 0x00, 0x07, 0x00]); // rta_len 2
  const d = new AttributeDecoder(bad, 100);
  const seen: number[] = [];
  while (d.next()) {
    seen.push(d.type);
    if (d.type === 4) {
      d.uint32("IFLA_MTU");
      d.bytes("an 8-byte value", 8); // first error: wrong length
    }
  }
  assert.deepEqual(seen, [4], "iteration stops at the first error");
  assert.ok(d.err instanceof NetlinkDecodeError);
  assert.match(d.err.message, /an 8-byte value of 4 bytes, want 8/);
  assert.throws(() => d.finish(), /at byte 100\)/, "the attribute's offset");
  assert.equal(d.next(), false);
});

Deno.test("notifications become link and address events; junk asks for a resync", () => {
  const events = decodeRouteEvents(
    new Uint8Array([
      ...reply(0, RTM_NEWLINK, ETH0, 0, 0),
      ...reply(0, RTM_DELADDR, addressPayload([10, 0, 0, 1]), 0, 0),
      ...reply(0, RTM_NEWADDR, addressPayload([10, 0, 0, 100]), 0, 0),
      ...reply(0, RTM_DELLINK, ETH0, 0, 0),
    ]),
  );
  assert.deepEqual(
    events.map((e) =>
      e.type === "link"
        ? `link ${e.link.name} ${e.deleted ? "gone" : "new"}`
        : e.type === "address"
        ? `address ${e.address.address} ${e.deleted ? "gone" : "new"}`
        : e.type
    ),
    [
      "link eth0 new",
      "address 10.0.0.1 gone",
      "address 10.0.0.100 new",
      "link eth0 gone",
    ],
  );
  const cut = reply(0, RTM_NEWLINK, ETH0, 0, 0).subarray(0, 20);
  assert.deepEqual(decodeRouteEvents(cut), [{ type: "overrun" }]);
});

Deno.test("a watcher reports a lost notification (ENOBUFS) as an overrun", async () => {
  let calls = 0;
  const t: NetlinkTransport = {
    portId: 1,
    closed: false,
    send() {},
    recv() {
      calls++;
      if (calls === 1) {
        return Promise.reject(new SysError("recvfrom", Errno.ENOBUFS));
      }
      if (calls === 2) {
        return Promise.resolve({
          data: reply(0, RTM_NEWLINK, ETH0, 0, 0),
          fromKernel: false,
          truncated: false,
        });
      }
      return Promise.resolve(null);
    },
    close() {},
    [Symbol.dispose]() {},
  };
  const w = routeWatcher(t);
  assert.deepEqual(await w.next({ timeoutMs: 1 }), [{ type: "overrun" }]);
  assert.deepEqual(await w.next({ timeoutMs: 1 }), [], "not from the kernel");
  assert.equal(await w.next({ timeoutMs: 1 }), null);
});

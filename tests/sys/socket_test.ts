// Sockets over FFI. UDP on loopback needs no privileges; these run as any
// user (with --allow-ffi).
import assert from "node:assert/strict";
import { skipUnlessRoot } from "../../testing/mod.ts";
import {
  AF_INET,
  AF_INET6,
  AF_NETLINK,
  AF_PACKET,
  AF_UNIX,
  Errno,
  interfaceIndex,
  interfaceName,
  IPPROTO_IPV6,
  IPV6_RECVHOPLIMIT,
  IPV6_RECVPKTINFO,
  IPV6_UNICAST_HOPS,
  ipv6HopLimit,
  ipv6PacketInfo,
  NETLINK_ROUTE,
  openSocket,
  parseSockaddrIn,
  parseSockaddrIn6,
  SOCK_DGRAM,
  SOCK_RAW,
  SOCK_STREAM,
  sockaddrIn,
  sockaddrIn6,
  sockaddrNl,
  sockaddrUn,
  SysError,
} from "../../lib/sys/mod.ts";

function openFds(): number {
  return [...Deno.readDirSync("/proc/self/fd")].length;
}

function udpOnLoopback() {
  const sock = openSocket(AF_INET, SOCK_DGRAM, 0);
  sock.bind(sockaddrIn("127.0.0.1", 0));
  const { port } = parseSockaddrIn(sock.localAddress());
  return { sock, port };
}

Deno.test("recv returns a datagram and its source address", async () => {
  const a = udpOnLoopback();
  const b = udpOnLoopback();
  try {
    const payload = new TextEncoder().encode("hello vip");
    assert.equal(
      a.sock.sendTo(payload, sockaddrIn("127.0.0.1", b.port)),
      payload.length,
    );
    const got = await b.sock.recv({ timeoutMs: 5000 });
    assert.ok(got !== null);
    assert.deepEqual(got.data, payload);
    assert.equal(got.truncated, false);
    assert.deepEqual(parseSockaddrIn(got.from), {
      address: "127.0.0.1",
      bytes: Uint8Array.of(127, 0, 0, 1),
      port: a.port,
    });
  } finally {
    a.sock.close();
    b.sock.close();
  }
});

Deno.test("recv flags datagrams longer than maxBytes", async () => {
  const a = udpOnLoopback();
  const b = udpOnLoopback();
  try {
    a.sock.sendTo(new Uint8Array(100).fill(7), sockaddrIn("127.0.0.1", b.port));
    const got = await b.sock.recv({ timeoutMs: 5000, maxBytes: 10 });
    assert.ok(got !== null);
    assert.equal(got.truncated, true);
    assert.deepEqual(got.data, new Uint8Array(10).fill(7));
  } finally {
    a.sock.close();
    b.sock.close();
  }
});

Deno.test("recv times out with null and timers keep running meanwhile", async () => {
  const { sock } = udpOnLoopback();
  let ticks = 0;
  const timer = setInterval(() => ticks++, 20);
  try {
    assert.equal(await sock.recv({ timeoutMs: 450 }), null);
    // A blocked event loop would not have run the interval at all.
    assert.ok(ticks > 0, "the event loop was blocked during recv");
    assert.equal(sock.tryRecv(), null);
    assert.equal(await sock.recv({ timeoutMs: 0 }), null);
  } finally {
    clearInterval(timer);
    sock.close();
  }
});

Deno.test("close during recv resolves null, close is idempotent, use after close is EBADF", async () => {
  const { sock } = udpOnLoopback();
  const pending = sock.recv({ timeoutMs: 60_000 });
  await new Promise((r) => setTimeout(r, 30));
  sock.close();
  sock.close();
  assert.equal(await pending, null);
  assert.equal(sock.closed, true);
  assert.throws(
    () => sock.sendTo(new Uint8Array(1), sockaddrIn("127.0.0.1", 9)),
    (e: unknown) => e instanceof SysError && e.errno === Errno.EBADF,
  );
  assert.equal(await sock.recv({ timeoutMs: 10 }), null);
});

Deno.test("an aborted recv resolves null", async () => {
  const { sock } = udpOnLoopback();
  try {
    const ac = new AbortController();
    const pending = sock.recv({ timeoutMs: 60_000, signal: ac.signal });
    setTimeout(() => ac.abort(), 30);
    assert.equal(await pending, null);
  } finally {
    sock.close();
  }
});

Deno.test("the wake-up eventfd of a waiting recv is closed with its socket", async () => {
  const before = openFds();
  for (let i = 0; i < 20; i++) {
    const { sock } = udpOnLoopback();
    const ac = new AbortController();
    // Waited on (so the eventfd exists), then aborted, then closed mid-wait.
    const first = sock.recv({ timeoutMs: 60_000, signal: ac.signal });
    setTimeout(() => ac.abort(), 5);
    assert.equal(await first, null);
    const second = sock.recv({ timeoutMs: 60_000 });
    setTimeout(() => sock.close(), 5);
    assert.equal(await second, null);
    await sock.closeAsync();
  }
  assert.equal(openFds(), before);
});

Deno.test("only one recv may wait on a socket", async () => {
  const { sock } = udpOnLoopback();
  try {
    const first = sock.recv({ timeoutMs: 100 });
    await assert.rejects(
      () => sock.recv({ timeoutMs: 100 }),
      /already pending/,
    );
    assert.equal(await first, null);
  } finally {
    sock.close();
  }
});

Deno.test("sockets do not leak fds, also when bind fails", async () => {
  const before = openFds();
  for (let i = 0; i < 200; i++) {
    const s = openSocket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    try {
      s.bind(sockaddrNl());
      await s.recv({ timeoutMs: 0 });
    } finally {
      s.close();
    }
    const u = openSocket(AF_INET, SOCK_DGRAM, 0);
    try {
      // 192.0.2.1 is not local: EADDRNOTAVAIL.
      assert.throws(
        () => u.bind(sockaddrIn("192.0.2.1", 0)),
        (e: unknown) => e instanceof SysError && e.code === "EADDRNOTAVAIL",
      );
    } finally {
      u.close();
    }
  }
  assert.equal(openFds(), before);
});

Deno.test("interfaceIndex / interfaceName", () => {
  const lo = interfaceIndex("lo");
  assert.ok(lo > 0);
  assert.equal(interfaceName(lo), "lo");
  for (const bad of ["hv-no-such0", "", "x".repeat(16), "a\0b"]) {
    assert.throws(
      () => interfaceIndex(bad),
      (e: unknown) => e instanceof SysError && e.code === "ENODEV",
    );
  }
  assert.throws(() => interfaceName(0x7ffffff0), SysError);
});

Deno.test({
  name: "AF_PACKET sockets close off the main thread and release the fd",
  ignore: skipUnlessRoot("AF_PACKET socket test"),
  fn: async () => {
    const before = openFds();
    const sockets = Array.from(
      { length: 4 },
      () => openSocket(AF_PACKET, SOCK_DGRAM, 0),
    );
    assert.equal(openFds(), before + 4);
    // close() returns at once (the kernel's close waits for an RCU grace
    // period); closeAsync() says when the fd is gone.
    sockets[0].close();
    assert.equal(sockets[0].closed, true);
    await Promise.all(sockets.map((s) => s.closeAsync()));
    assert.equal(openFds(), before);
  },
});

Deno.test("recvMsg hands back the hop limit and the destination (IPv6)", async () => {
  const a = openSocket(AF_INET6, SOCK_DGRAM, 0);
  const b = openSocket(AF_INET6, SOCK_DGRAM, 0);
  try {
    a.bind(sockaddrIn6("::1"));
    b.bind(sockaddrIn6("::1"));
    b.setsockoptInt(IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1);
    b.setsockoptInt(IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
    a.setsockoptInt(IPPROTO_IPV6, IPV6_UNICAST_HOPS, 7);
    const port = parseSockaddrIn6(b.localAddress()).port;
    a.sendTo(Uint8Array.of(1, 2, 3), sockaddrIn6("::1", { port }));
    const got = await b.recvMsg({ timeoutMs: 5000 });
    assert.ok(got !== null);
    assert.deepEqual(got.data, Uint8Array.of(1, 2, 3));
    assert.equal(got.controlTruncated, false);
    assert.equal(ipv6HopLimit(got.control), 7);
    const info = ipv6PacketInfo(got.control)!;
    assert.equal(parseSockaddrIn6(got.from).address, "::1");
    assert.deepEqual(info.address, parseSockaddrIn6(sockaddrIn6("::1")).bytes);
    assert.equal(info.ifindex, interfaceIndex("lo"));
    // Nothing queued: a short wait resolves null.
    assert.equal(await b.recvMsg({ timeoutMs: 10 }), null);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("a unix stream listener accepts and names its peer (SO_PEERCRED)", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/ctl.sock`;
  const server = openSocket(AF_UNIX, SOCK_STREAM, 0);
  try {
    server.bind(sockaddrUn(path));
    server.listen();
    assert.equal(await server.accept({ timeoutMs: 10 }), null);
    const client = await Deno.connect({ transport: "unix", path });
    const conn = await server.accept({ timeoutMs: 5000 });
    assert.ok(conn !== null);
    try {
      const cred = conn.peerCredentials();
      assert.equal(cred.pid, Deno.pid);
      assert.equal(cred.uid, Deno.uid());
      assert.equal(cred.gid, Deno.gid());
      await client.write(new TextEncoder().encode("ping\n"));
      const got = await conn.recv({ timeoutMs: 5000 });
      assert.equal(new TextDecoder().decode(got!.data), "ping\n");
      conn.sendTo(new TextEncoder().encode("pong\n"));
      const buf = new Uint8Array(16);
      const n = await client.read(buf);
      assert.equal(new TextDecoder().decode(buf.subarray(0, n!)), "pong\n");
    } finally {
      conn.close();
      client.close();
    }
  } finally {
    server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

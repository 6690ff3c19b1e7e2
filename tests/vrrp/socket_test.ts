/**
 * The VRRP socket between two namespaces joined by a veth, and against a
 * real keepalived when one is installed. Root only.
 */

import assert from "node:assert/strict";
import {
  addVeth,
  ip,
  type NetnsAgent,
  skipUnlessRoot,
  sysctl,
  withAgents,
  withNetns,
} from "../../testing/mod.ts";

const ignore = skipUnlessRoot("VRRP socket namespace tests");
const AGENT = new URL("./_socket_agent.ts", import.meta.url);
const A_IP = "10.98.0.1";
const B_IP = "10.98.0.2";
const VIP = "10.98.0.100";

interface Received {
  drops: string[];
  src?: string;
  dst?: string;
  ttl?: number;
  tos?: number;
  advertisement?: { vrid: number; priority: number; addresses: string[] };
}

const A_LL = "fe80::a:1";
const B_LL = "fe80::a:2";
const VIP6 = "fd00:98::100";

/**
 * Two namespaces on one veth (vr0: A_IP, B_IP; link-local A_LL, B_LL,
 * without DAD so they are usable at once) with an agent in each.
 */
function withPair(
  fn: (a: NetnsAgent, b: NetnsAgent, ns: string[]) => Promise<void>,
): Promise<void> {
  return withNetns(2, async (ns) => {
    for (const n of ns) {
      await sysctl(
        n,
        "net.ipv6.conf.all.accept_dad=0",
        "net.ipv6.conf.default.accept_dad=0",
      );
    }
    await addVeth({ ns: ns[0], name: "vr0" }, { ns: ns[1], name: "vr0" });
    await ip("-n", ns[0], "addr", "add", `${A_IP}/24`, "dev", "vr0");
    await ip("-n", ns[1], "addr", "add", `${B_IP}/24`, "dev", "vr0");
    await ip("-n", ns[0], "addr", "add", `${A_LL}/64`, "dev", "vr0", "nodad");
    await ip("-n", ns[1], "addr", "add", `${B_LL}/64`, "dev", "vr0", "nodad");
    await withAgents(AGENT, ns, ([a, b]) => fn(a, b, ns));
  });
}

const ADVERT6 = {
  vrid: 42,
  priority: 120,
  maxAdvertIntervalCs: 100,
  addresses: [VIP6],
};

function validation6(primaryIp: string, vrid = 42) {
  return { vrid, addresses: [VIP6], primaryIp };
}

const KEY_HEX =
  "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

const ADVERT = {
  vrid: 42,
  priority: 120,
  maxAdvertIntervalCs: 100,
  addresses: [VIP],
};

function validation(primaryIp: string, vrid = 42) {
  return { vrid, addresses: [VIP], primaryIp };
}

Deno.test({
  name:
    "socket: multicast advertisement crosses namespaces with TTL 255 and a valid checksum",
  ignore,
  fn: () =>
    withPair(async (a, b) => {
      assert.equal(
        await b.call("open", { interface: "vr0", primaryIp: B_IP }),
        "multicast",
      );
      await a.call("open", { interface: "vr0", primaryIp: A_IP });
      assert.deepEqual(await a.call("send", ADVERT), []);
      const got = await b.call<Received>("receiveValid", {
        timeoutMs: 3000,
        validation: validation(B_IP),
      });
      assert.deepEqual(got.drops, []);
      assert.equal(got.src, A_IP);
      assert.equal(got.dst, "224.0.0.18");
      assert.equal(got.ttl, 255);
      assert.equal(got.tos, 0xc0);
      assert.equal(got.advertisement?.priority, 120);
      // IP_MULTICAST_LOOP 0: the sender does not hear itself.
      const own = await a.call<Received>("receiveValid", {
        timeoutMs: 300,
        validation: validation(A_IP),
      });
      assert.deepEqual(own, { drops: [] });
    }),
});

Deno.test({
  name:
    "socket: unicast advertisement to a peer, checksum over the unicast pseudo-header",
  ignore,
  fn: () =>
    withPair(async (a, b) => {
      assert.equal(
        await b.call("open", {
          interface: "vr0",
          primaryIp: B_IP,
          peers: [A_IP],
        }),
        "unicast",
      );
      await a.call("open", {
        interface: "vr0",
        primaryIp: A_IP,
        peers: [B_IP],
      });
      assert.deepEqual(await a.call("send", ADVERT), []);
      const got = await b.call<Received>("receiveValid", {
        timeoutMs: 3000,
        validation: { ...validation(B_IP), allowedSources: [A_IP] },
      });
      assert.deepEqual(got.drops, []);
      assert.equal(got.src, A_IP);
      assert.equal(got.dst, B_IP);
      assert.equal(got.ttl, 255);
    }),
});

Deno.test({
  name:
    "socket: opening names the failing step (missing interface, foreign unicast address)",
  ignore,
  fn: () =>
    withPair(async (a) => {
      await assert.rejects(
        a.call("open", { interface: "nope0", primaryIp: A_IP }),
        /nope0/,
      );
      await assert.rejects(
        a.call("open", {
          interface: "vr0",
          primaryIp: "10.98.0.77",
          peers: [B_IP],
        }),
        /bind/,
      );
    }),
});

Deno.test({
  name:
    "socket: IPv6 multicast from the link-local source, hop limit 255 and destination from recvmsg",
  ignore,
  fn: () =>
    withPair(async (a, b) => {
      await b.call("open", { interface: "vr0", primaryIp: B_LL });
      await a.call("open", { interface: "vr0", primaryIp: A_LL });
      assert.deepEqual(await a.call("send", ADVERT6), []);
      const got = await b.call<Received>("receiveValid", {
        timeoutMs: 3000,
        validation: validation6(B_LL),
      });
      assert.deepEqual(got.drops, []);
      assert.equal(got.src, A_LL);
      assert.equal(got.dst, "ff02::12");
      assert.equal(got.ttl, 255);
      assert.deepEqual(got.advertisement?.addresses, [VIP6]);
      const own = await a.call<Received>("receiveValid", {
        timeoutMs: 300,
        validation: validation6(A_LL),
      });
      assert.deepEqual(own, { drops: [] });
    }),
});

Deno.test({
  name: "socket: IPv6 unicast to a link-local peer",
  ignore,
  fn: () =>
    withPair(async (a, b) => {
      assert.equal(
        await b.call("open", {
          interface: "vr0",
          primaryIp: B_LL,
          peers: [A_LL],
        }),
        "unicast",
      );
      await a.call("open", {
        interface: "vr0",
        primaryIp: A_LL,
        peers: [B_LL],
      });
      assert.deepEqual(await a.call("send", ADVERT6), []);
      const got = await b.call<Received>("receiveValid", {
        timeoutMs: 3000,
        validation: { ...validation6(B_LL), allowedSources: [A_LL] },
      });
      assert.deepEqual(got.drops, []);
      assert.equal(got.src, A_LL);
      assert.equal(got.dst, B_LL);
      assert.equal(got.ttl, 255);
    }),
});

Deno.test({
  name:
    "socket: signed adverts (IPv4 and IPv6) verify with the key, not without",
  ignore,
  fn: () =>
    withPair(async (a, b) => {
      for (
        const [src, dst, advert, valid] of [
          [A_IP, B_IP, ADVERT, validation(B_IP)],
          [A_LL, B_LL, ADVERT6, validation6(B_LL)],
        ] as const
      ) {
        await a.call("open", {
          interface: "vr0",
          primaryIp: src,
          keyHex: KEY_HEX,
        });
        await b.call("open", {
          interface: "vr0",
          primaryIp: dst,
          keyHex: KEY_HEX,
        });
        assert.deepEqual(await a.call("send", advert), []);
        const got = await b.call<Received & { keyId: number }>("receiveValid", {
          timeoutMs: 3000,
          validation: valid,
        });
        assert.deepEqual(got.drops, []);
        assert.equal(got.keyId, 1);
        // Another key: every advert is refused.
        await b.call("open", {
          interface: "vr0",
          primaryIp: dst,
          keyHex: KEY_HEX.replace("00", "ff"),
        });
        assert.deepEqual(await a.call("send", advert), []);
        const refused = await b.call<Received>("receiveValid", {
          timeoutMs: 1000,
          validation: valid,
        });
        assert.equal(refused.src, undefined);
        assert.match(refused.drops.join(), /bad_hmac/);
        // Without a key: the trailer is refused as extra bytes.
        await b.call("open", { interface: "vr0", primaryIp: dst });
        assert.deepEqual(await a.call("send", advert), []);
        const plain = await b.call<Received>("receiveValid", {
          timeoutMs: 1000,
          validation: valid,
        });
        assert.match(plain.drops.join(), /length: .*authentication trailer/);
      }
    }),
});

const KEEPALIVED = "/usr/sbin/keepalived";
const haveKeepalived = (() => {
  try {
    return Deno.statSync(KEEPALIVED).isFile;
  } catch {
    return false;
  }
})();

for (const family of [4, 6] as const) {
  const v = family === 4
    ? { vip: `${VIP}/24`, ours: B_IP, advert: ADVERT, check: validation(B_IP) }
    : {
      vip: `${VIP6}/64`,
      ours: B_LL,
      advert: ADVERT6,
      check: validation6(B_LL),
    };
  Deno.test({
    name:
      `socket: interop with keepalived over IPv${family}: we accept its adverts, it yields to ours`,
    ignore: ignore || !haveKeepalived,
    fn: () =>
      withPair(async (_a, b, ns) => {
        const dir = await Deno.makeTempDir({ prefix: "hv-vrrp-" });
        const conf = `${dir}/keepalived.conf`;
        await Deno.writeTextFile(
          conf,
          `global_defs {
  router_id hvtest
  script_user root
  enable_script_security
}
vrrp_instance VI_1 {
  state MASTER
  interface vr0
  virtual_router_id 42
  priority 150
  advert_int 1
  version 3
  virtual_ipaddress {
    ${v.vip}
  }
}
`,
        );
        const child = new Deno.Command("ip", {
          args: [
            "netns",
            "exec",
            ns[0],
            KEEPALIVED,
            "-n",
            "-l",
            "-D",
            "-f",
            conf,
            "-p",
            `${dir}/ka.pid`,
            "-r",
            `${dir}/vrrp.pid`,
          ],
          stdout: "piped",
          stderr: "piped",
          stdin: "null",
        }).spawn();
        const log: string[] = [];
        const pump = (s: ReadableStream<Uint8Array>) =>
          (async () => {
            for await (const chunk of s.pipeThrough(new TextDecoderStream())) {
              log.push(...chunk.split("\n"));
            }
          })();
        const pumps = [pump(child.stdout), pump(child.stderr)];
        try {
          await b.call("open", { interface: "vr0", primaryIp: v.ours });
          // keepalived starts as backup and takes over after its
          // Master_Down_Interval (~3.4 s at priority 150).
          const got = await b.call<Received>("receiveValid", {
            timeoutMs: 10_000,
            validation: v.check,
          });
          assert.deepEqual(got.drops, [], log.join("\n"));
          if (family === 4) assert.equal(got.src, A_IP);
          // IPv6: keepalived sends from the interface's kernel-made
          // link-local address (EUI-64), not necessarily A_LL.
          else assert.match(got.src ?? "", /^fe80::/);
          assert.equal(got.ttl, 255);
          assert.equal(got.advertisement?.priority, 150);
          // Now a higher priority from us: keepalived must accept it (right
          // checksum, TTL / hop limit, addresses) and step down.
          let yielded = false;
          for (let i = 0; i < 20 && !yielded; i++) {
            assert.deepEqual(
              await b.call("send", { ...v.advert, priority: 200 }),
              [],
            );
            await new Promise((r) => setTimeout(r, 250));
            yielded = log.some((l) => l.includes(`with higher priority 200`)) &&
              log.some((l) => l.endsWith("Entering BACKUP STATE"));
          }
          assert.ok(yielded, `keepalived did not yield:\n${log.join("\n")}`);
          assert.ok(
            !log.some((l) => /invalid|checksum|ttl/i.test(l)),
            log.join("\n"),
          );
        } finally {
          try {
            child.kill("SIGTERM");
          } catch {
            // Already exited.
          }
          await child.status;
          await Promise.all(pumps);
          await Deno.remove(dir, { recursive: true });
        }
      }),
  });
}

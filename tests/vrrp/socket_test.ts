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

/** Two namespaces on one veth (vr0: A_IP, B_IP) with an agent in each. */
function withPair(
  fn: (a: NetnsAgent, b: NetnsAgent, ns: string[]) => Promise<void>,
): Promise<void> {
  return withNetns(2, async (ns) => {
    await addVeth({ ns: ns[0], name: "vr0" }, { ns: ns[1], name: "vr0" });
    await ip("-n", ns[0], "addr", "add", `${A_IP}/24`, "dev", "vr0");
    await ip("-n", ns[1], "addr", "add", `${B_IP}/24`, "dev", "vr0");
    await withAgents(AGENT, ns, ([a, b]) => fn(a, b, ns));
  });
}

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

const KEEPALIVED = "/usr/sbin/keepalived";
const haveKeepalived = (() => {
  try {
    return Deno.statSync(KEEPALIVED).isFile;
  } catch {
    return false;
  }
})();

Deno.test({
  name:
    "socket: interop with keepalived: we accept its adverts, it yields to ours",
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
    ${VIP}/24
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
        await b.call("open", { interface: "vr0", primaryIp: B_IP });
        // keepalived starts as backup and takes over after its
        // Master_Down_Interval (~3.4 s at priority 150).
        const got = await b.call<Received>("receiveValid", {
          timeoutMs: 10_000,
          validation: validation(B_IP),
        });
        assert.deepEqual(got.drops, [], log.join("\n"));
        assert.equal(got.src, A_IP);
        assert.equal(got.advertisement?.priority, 150);
        // Now a higher priority from us: keepalived must accept it (right
        // checksum, TTL, addresses) and step down.
        let yielded = false;
        for (let i = 0; i < 20 && !yielded; i++) {
          assert.deepEqual(
            await b.call("send", { ...ADVERT, priority: 200 }),
            [],
          );
          await new Promise((r) => setTimeout(r, 250));
          yielded = log.some((l) =>
            l.includes(`advert from ${B_IP} with higher priority 200`)
          ) && log.some((l) =>
            l.endsWith("Entering BACKUP STATE")
          );
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

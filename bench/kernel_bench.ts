/**
 * Kernel round trips: one VIP add-or-replace (RTM_NEWADDR + ACK) and one
 * gratuitous ARP burst, measured inside a namespace this file creates.
 *
 *     deno bench --allow-all bench/kernel_bench.ts
 *
 * Needs root. The outer run creates namespace `hvk<pid><n>` with a veth
 * pair, re-runs this file inside it with `ip netns exec` (FFI sockets act
 * in the namespace of the process that opens them), and always deletes
 * the namespace afterwards.
 *
 * @module
 */

import { announceBurst, openAnnouncer } from "../lib/announce/mod.ts";
import { openRouteSocket } from "../lib/netlink/mod.ts";
import {
  addVeth,
  deleteNetns,
  ip,
  rootSkipReason,
  withNetns,
} from "../testing/mod.ts";

const INNER_ENV = "HV_BENCH_NETNS";
const VIP = "10.79.0.100";
const VIP6 = "fd00:79::100";

if (Deno.env.get(INNER_ENV) !== undefined) {
  const route = openRouteSocket();
  const link = await route.getLink("eth0");
  const vip = {
    ifindex: link.index,
    address: VIP,
    prefixLength: 24,
    validLft: 30,
    preferredLft: 0,
  };
  const target = { ifindex: link.index, mac: link.mac, ip: VIP };
  const arp = openAnnouncer(target);

  Deno.bench({
    name: "netlink: replace VIP, one RTM_NEWADDR round trip (open socket)",
    group: "netlink",
    baseline: true,
    fn: () => route.replaceAddress(vip),
  });
  Deno.bench({
    name: "netlink: replace VIP with a socket of its own (open+bind+close)",
    group: "netlink",
    fn: async () => {
      using own = openRouteSocket();
      await own.replaceAddress(vip);
    },
  });
  Deno.bench({
    name: "netlink: address dump of the namespace",
    group: "netlink",
    fn: async () => {
      await route.listAddresses({ link: link.index });
    },
  });
  Deno.bench({
    name: "arp: one gratuitous pair (request + reply form, own socket)",
    group: "announce",
    baseline: true,
    fn: async () => {
      await using own = openAnnouncer(target);
      own.announce();
    },
  });
  Deno.bench({
    name: "arp: one gratuitous pair on an open announcer (what a holder does)",
    group: "announce",
    fn: () => arp.announce(),
  });
  Deno.bench({
    name:
      "arp: announceBurst, 3 rounds, intervalMs 0 (6 packets, open announcer)",
    group: "announce",
    fn: async () => {
      await announceBurst(arp, { count: 3, intervalMs: 0 });
    },
  });
  Deno.bench({
    name: "ndp: one unsolicited NA (own socket)",
    group: "announce",
    fn: async () => {
      await using own = openAnnouncer({ ...target, ip: VIP6 });
      own.announce();
    },
  });
} else {
  const reason = rootSkipReason();
  if (reason !== null) {
    console.log(
      `SKIP kernel benchmarks: ${reason}; they need root and iproute2`,
    );
  } else {
    await withNetns(1, async ([ns]) => {
      await addVeth({ ns, name: "eth0" }, { ns, name: "eth1" });
      await ip("-n", ns, "addr", "add", "10.79.0.5/24", "dev", "eth0");
      const status = await new Deno.Command("ip", {
        args: [
          "netns",
          "exec",
          ns,
          Deno.execPath(),
          "bench",
          "--allow-all",
          "--no-prompt",
          new URL(import.meta.url).pathname,
        ],
        env: { [INNER_ENV]: ns },
        stdin: "null",
        stdout: "inherit",
        stderr: "inherit",
      }).spawn().status;
      if (!status.success) {
        await deleteNetns(ns);
        throw new Error(
          `the benchmarks inside ${ns} failed (exit ${status.code})`,
        );
      }
    });
  }
  // Keeps `deno bench` content when this outer run registers nothing else.
  Deno.bench({
    name: "(kernel benchmarks ran in a namespace, above)",
    ignore: true,
    fn() {},
  });
}

// Runs inside a test namespace (see testing/netns.ts): announces with
// lib/announce, looking the interface up with lib/netlink, and sends raw
// ARP bodies for the tests of what the kernel accepts.
import {
  announceBurst,
  openAnnouncer,
  openVipProbe,
  type VipProbe,
} from "../../lib/announce/mod.ts";
import { type ArpPacket, BROADCAST_MAC, encodeArp } from "../../lib/arp/mod.ts";
import { parseMac } from "../../lib/ip/mod.ts";
import { openRouteSocket } from "../../lib/netlink/mod.ts";
import {
  AF_PACKET,
  ETH_P_ARP,
  openSocket,
  SOCK_DGRAM,
  sockaddrLl,
} from "../../lib/sys/mod.ts";
import { serveAgent } from "../../testing/netns.ts";

async function getLink(name: string) {
  using route = openRouteSocket();
  return await route.getLink(name);
}

/** The probe `openProbe` opened, for `ask`. */
let probe: VipProbe | undefined;

await serveAgent({
  async announce(
    a: { ifname: string; ip: string; count?: number; intervalMs?: number },
  ) {
    const link = await getLink(a.ifname);
    await using announcer = openAnnouncer({
      ifindex: link.index,
      mac: link.hardwareAddress,
      ip: a.ip,
    });
    const r = await announceBurst(announcer, {
      count: a.count,
      intervalMs: a.intervalMs,
    });
    return { sent: r.sent, errors: r.errors.map(String) };
  },
  async gratuitous(a: { ifname: string; ip: string }) {
    const link = await getLink(a.ifname);
    await using announcer = openAnnouncer({
      ifindex: link.index,
      mac: link.mac,
      ip: a.ip,
    });
    announcer.announce();
  },
  /** Sends the packets in order, back to back, from one socket. */
  async send(a: { ifname: string; packets: ArpPacket[] }) {
    const link = await getLink(a.ifname);
    await using sock = openSocket(AF_PACKET, SOCK_DGRAM, 0);
    const to = sockaddrLl({
      protocol: ETH_P_ARP,
      ifindex: link.index,
      address: parseMac(BROADCAST_MAC),
    });
    for (const p of a.packets) sock.sendTo(encodeArp(p), to);
  },
  /** Opens a VIP probe and keeps it for `ask`. */
  async openProbe(a: { ifname: string; ip: string }) {
    const link = await getLink(a.ifname);
    await probe?.close();
    probe = openVipProbe({
      ifindex: link.index,
      mac: link.hardwareAddress,
      ip: a.ip,
    });
  },
  /** One round of the open probe: the claimer's MAC, or null. */
  ask(a: { timeoutMs: number }) {
    if (probe === undefined) throw new Error("openProbe first");
    return probe.ask(a.timeoutMs);
  },
});

// Runs inside a test namespace (see testing/netns.ts): sends ARP
// with lib/arp, looking the interface up with lib/netlink.
import {
  announceBurst,
  type ArpPacket,
  ArpSender,
  sendGratuitousArp,
} from "../../lib/arp/mod.ts";
import { getLink } from "../../lib/netlink/mod.ts";
import { serveAgent } from "../../testing/netns.ts";

await serveAgent({
  async announce(
    a: { ifname: string; ip: string; count?: number; intervalMs?: number },
  ) {
    const link = await getLink(a.ifname);
    const r = await announceBurst({
      ifindex: link.index,
      mac: link.hardwareAddress,
      ip: a.ip,
      count: a.count,
      intervalMs: a.intervalMs,
    });
    return { sent: r.sent, errors: r.errors.map(String) };
  },
  async gratuitous(a: { ifname: string; ip: string }) {
    const link = await getLink(a.ifname);
    await sendGratuitousArp({ ifindex: link.index, mac: link.mac, ip: a.ip });
  },
  /** Sends the packets in order, back to back, from one socket. */
  async send(a: { ifname: string; packets: ArpPacket[] }) {
    const link = await getLink(a.ifname);
    await using sender = ArpSender.open(link.index);
    for (const p of a.packets) sender.send(p);
  },
});

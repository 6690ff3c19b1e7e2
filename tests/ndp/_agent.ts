// Runs inside a test namespace (see testing/netns.ts): sends
// neighbour advertisements with lib/ndp.
import { getLink } from "../../lib/netlink/mod.ts";
import {
  advertiseBurst,
  NdpSender,
  type NeighborAdvertisement,
} from "../../lib/ndp/mod.ts";
import { serveAgent } from "../../testing/netns.ts";

await serveAgent({
  async announce(
    a: { ifname: string; ip: string; count?: number; intervalMs?: number },
  ) {
    const link = await getLink(a.ifname);
    const r = await advertiseBurst({
      ifindex: link.index,
      mac: link.mac,
      ip: a.ip,
      count: a.count,
      intervalMs: a.intervalMs,
    });
    return { sent: r.sent, errors: r.errors.map(String) };
  },
  /** Sends the advertisements in order, back to back, from one socket. */
  async send(a: { ifname: string; nas: NeighborAdvertisement[] }) {
    const link = await getLink(a.ifname);
    await using sender = NdpSender.open(link.index);
    for (const na of a.nas) sender.send(na);
  },
});

// Runs inside a test namespace (see testing/netns.ts): sends
// neighbour advertisements with lib/announce, and raw ones for the tests of
// what the kernel accepts.
import { announceBurst, openAnnouncer } from "../../lib/announce/mod.ts";
import { openRouteSocket } from "../../lib/netlink/mod.ts";
import {
  ALL_NODES,
  encodeNeighborAdvertisement,
  type NeighborAdvertisement,
} from "../../lib/ndp/mod.ts";
import {
  AF_INET6,
  IPPROTO_ICMPV6,
  IPPROTO_IPV6,
  IPV6_MULTICAST_HOPS,
  IPV6_MULTICAST_IF,
  openSocket,
  SOCK_RAW,
  sockaddrIn6,
} from "../../lib/sys/mod.ts";
import { serveAgent } from "../../testing/netns.ts";

async function getLink(name: string) {
  using route = openRouteSocket();
  return await route.getLink(name);
}

await serveAgent({
  async announce(
    a: { ifname: string; ip: string; count?: number; intervalMs?: number },
  ) {
    const link = await getLink(a.ifname);
    await using announcer = openAnnouncer({
      ifindex: link.index,
      mac: link.mac,
      ip: a.ip,
    });
    const r = await announceBurst(announcer, {
      count: a.count,
      intervalMs: a.intervalMs,
    });
    return { sent: r.sent, errors: r.errors.map(String) };
  },
  /** Sends the advertisements in order, back to back, from one socket. */
  async send(a: { ifname: string; nas: NeighborAdvertisement[] }) {
    const link = await getLink(a.ifname);
    await using sock = openSocket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
    sock.setsockoptInt(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255);
    sock.setsockoptInt(IPPROTO_IPV6, IPV6_MULTICAST_IF, link.index);
    const to = sockaddrIn6(ALL_NODES, { scopeId: link.index });
    for (const na of a.nas) sock.sendTo(encodeNeighborAdvertisement(na), to);
  },
});

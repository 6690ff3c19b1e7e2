// Runs inside a test namespace: claims a VIP with the real VipHolder (its
// own netlink socket), as the daemon does, and reports what it logged.
import { VipHolder } from "../../lib/announce/mod.ts";
import { parseCidr } from "../../lib/ip/mod.ts";
import { openRouteSocket } from "../../lib/netlink/mod.ts";
import { createLogger } from "../../lib/observe/mod.ts";
import { serveAgent } from "../../testing/netns.ts";

await serveAgent({
  async claim(args: { vip: string; ifname: string }) {
    using route = openRouteSocket();
    const link = await route.getLink(args.ifname);
    const lines: string[] = [];
    await using holder = new VipHolder({
      vip: parseCidr(args.vip),
      link: { index: link.index, name: link.name, mac: link.mac },
      route,
      lifetimeS: 30,
      burstCount: 1,
      burstIntervalMs: 0,
      reannounceEveryMs: 0,
      log: createLogger({ level: "debug", sink: (l) => lines.push(l) }),
    });
    await holder.claim({ keepAlive: false });
    return lines;
  },
});

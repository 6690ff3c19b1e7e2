// Runs inside a test namespace (see testing/netns.ts): exposes the
// lib/netlink operations to the test over JSON lines, each on a socket of
// its own.
import {
  type AddressFilter,
  type AddressOptions,
  type DeleteAddressOptions,
  openRouteSocket,
  openRouteWatcher,
  type RouteClient,
  type RouteEvent,
} from "../../lib/netlink/mod.ts";
import { serveAgent } from "../../testing/netns.ts";

async function withRoute<T>(fn: (r: RouteClient) => Promise<T>): Promise<T> {
  using route = openRouteSocket();
  return await fn(route);
}

/** One line per event: `link eth0 up`, `address 10.0.0.1/24 gone`. */
function describe(e: RouteEvent): string {
  if (e.type === "overrun") return "overrun";
  if (e.type === "link") {
    const state = e.deleted
      ? "gone"
      : e.link.up && e.link.carrier
      ? "up"
      : "down";
    return `link ${e.link.name} ${state}`;
  }
  const a = e.address;
  return `address ${a.address}/${a.prefixLength} ${e.deleted ? "gone" : "new"}`;
}

const seen: string[] = [];
let watching = false;

await serveAgent({
  /** Subscribes (on a socket of its own) and keeps collecting in the background. */
  watchStart() {
    const w = openRouteWatcher();
    watching = true;
    (async () => {
      while (watching) {
        const events = await w.next({ timeoutMs: 200 });
        for (const e of events ?? []) seen.push(describe(e));
      }
      w.close();
    })();
  },
  /** The events seen so far, once each of `want` is among them (or after 10 s). */
  async watchCollect(a: { want: string[] }) {
    const end = Date.now() + 10_000;
    while (!a.want.every((w) => seen.includes(w)) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
    }
    watching = false;
    return seen;
  },
  getLink: (a: { name: string }) => withRoute((r) => r.getLink(a.name)),
  listLinks: () => withRoute((r) => r.listLinks()),
  listAddresses: (a: AddressFilter) => withRoute((r) => r.listAddresses(a)),
  replaceAddress: (a: AddressOptions) => withRoute((r) => r.replaceAddress(a)),
  addAddress: (a: AddressOptions) => withRoute((r) => r.addAddress(a)),
  deleteAddress: (a: DeleteAddressOptions) =>
    withRoute((r) => r.deleteAddress(a)),
  promoteSecondaries: (a: { ifindex: number }) =>
    withRoute((r) => r.promoteSecondaries(a.ifindex)),
  setPromoteSecondaries: (a: { ifindex: number; on: boolean }) =>
    withRoute((r) => r.setPromoteSecondaries(a.ifindex, a.on)),
});

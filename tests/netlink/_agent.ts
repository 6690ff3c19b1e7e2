// Runs inside a test namespace (see testing/netns.ts): exposes the
// lib/netlink operations to the test over JSON lines, each on a socket of
// its own.
import {
  type AddressFilter,
  type AddressOptions,
  type DeleteAddressOptions,
  openRouteSocket,
  type RouteClient,
} from "../../lib/netlink/mod.ts";
import { serveAgent } from "../../testing/netns.ts";

async function withRoute<T>(fn: (r: RouteClient) => Promise<T>): Promise<T> {
  using route = openRouteSocket();
  return await fn(route);
}

await serveAgent({
  getLink: (a: { name: string }) => withRoute((r) => r.getLink(a.name)),
  listLinks: () => withRoute((r) => r.listLinks()),
  listAddresses: (a: AddressFilter) => withRoute((r) => r.listAddresses(a)),
  replaceAddress: (a: AddressOptions) => withRoute((r) => r.replaceAddress(a)),
  addAddress: (a: AddressOptions) => withRoute((r) => r.addAddress(a)),
  deleteAddress: (a: DeleteAddressOptions) =>
    withRoute((r) => r.deleteAddress(a)),
});

// Runs inside a test namespace (see testing/netns.ts): exposes the
// lib/netlink operations to the test over JSON lines.
import * as nl from "../../lib/netlink/mod.ts";
import { serveAgent } from "../../testing/netns.ts";

await serveAgent({
  getLink: (a: { name: string }) => nl.getLink(a.name),
  listLinks: () => nl.listLinks(),
  listAddresses: (a: { link?: number | string; family?: number }) =>
    nl.listAddresses(a.link, a.family),
  replaceAddress: (a: nl.AddressOptions) => nl.replaceAddress(a),
  addAddress: (a: nl.AddressOptions) => nl.addAddress(a),
  deleteAddress: (a: nl.DeleteAddressOptions) => nl.deleteAddress(a),
});

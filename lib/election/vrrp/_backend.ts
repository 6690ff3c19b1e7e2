/**
 * The VRRP backend's factory: maps `election.vrrp` onto the elector, finds
 * the advertisement source address, opens the raw socket.
 *
 * @module
 */
import type { Link, RouteClient } from "../../netlink/mod.ts";
import { parseCidr } from "../../ip/mod.ts";
import {
  openVrrpSocket,
  type VrrpSocket,
  type VrrpSocketOptions,
} from "../../vrrp/mod.ts";
import {
  type ElectionBackend,
  ElectionStartError,
  type ElectorContext,
} from "../_contract.ts";
import { type VrrpElectionStatus, VrrpElector } from "./_elector.ts";

/** What the VRRP backend opens; tests give it a fake network's socket. */
export interface VrrpBackendOptions {
  /** Opens the raw socket (default: `openVrrpSocket` of `lib/vrrp`). */
  openSocket?: (options: VrrpSocketOptions) => VrrpSocket;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The first IPv4 address of `link` that is not the VIP itself. */
async function sourceAddress(
  route: RouteClient,
  link: Link,
  vip: string,
): Promise<string> {
  const addrs = await route.listAddresses({ link: link.index, family: 4 });
  // The VIP may be left over from a previous run: never our source.
  const own = addrs.find((a) => a.address !== vip);
  if (!own) {
    throw new ElectionStartError(
      `interface ${link.name} has no IPv4 address of its own; VRRP needs one as the advertisement source ` +
        `(add one, or set election.vrrp.source_address)`,
    );
  }
  return own.address;
}

/** The `vrrp` election backend (VRRPv3, RFC 5798). */
export function vrrpBackend(
  options: VrrpBackendOptions = {},
): ElectionBackend<VrrpElectionStatus> {
  const openSocket = options.openSocket ?? openVrrpSocket;
  return {
    mode: "vrrp",
    async create(ctx: ElectorContext): Promise<VrrpElector> {
      const { config, link } = ctx;
      const vrrp = config.election.vrrp;
      const vip = parseCidr(config.vip[0]);
      // Transitional (issue 11): the configuration accepts IPv6, dual stack
      // and authentication keys; until they are wired, refuse rather than
      // ignore them.
      if (
        config.vip.length !== 1 || vip.family !== 4 ||
        vrrp.auth.keys.length > 0
      ) {
        throw new ElectionStartError(
          "IPv6 and dual-stack VIPs and VRRP authentication are not wired into the vrrp backend in this build",
        );
      }
      const primaryIp = vrrp.source_address[0] ??
        await sourceAddress(ctx.route, link, vip.address);
      // Without it every advertisement fails (ENETUNREACH) and peers
      // take over: this node must not keep the VIP meanwhile.
      ctx.host.requireAddress(primaryIp, "cannot advertise: no source address");
      const socketOptions = {
        interface: link.name,
        primaryIp,
        peers: vrrp.unicast_peers,
      };
      let socket: VrrpSocket;
      try {
        socket = openSocket(socketOptions);
      } catch (err) {
        throw new ElectionStartError(
          `cannot open the VRRP socket on ${link.name}: ${errorText(err)}`,
          { cause: err },
        );
      }
      return new VrrpElector({
        machine: {
          priority: vrrp.priority,
          advertIntervalCs: vrrp.advert_interval / 10,
          preempt: vrrp.preempt,
          primaryIp,
        },
        vrid: vrrp.vrid,
        addresses: [vip.address],
        socket,
        socketOptions,
        ifindex: link.index,
        openSocket,
        host: ctx.host,
        clock: ctx.clock,
      });
    },
  };
}

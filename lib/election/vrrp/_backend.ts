/**
 * The VRRP backend's factory: maps `election.vrrp` onto one virtual router
 * per VIP family (dual stack: an IPv4 and an IPv6 router, as RFC 5798
 * requires), finds each router's advertisement source, loads the
 * authentication keys, opens the raw sockets.
 *
 * @module
 */
import type { Clock } from "../../clock/mod.ts";
import { type Config, ConfigError } from "../../config/mod.ts";
import { type Cidr, parseCidr, parseIP } from "../../ip/mod.ts";
import {
  type Address,
  IFA_F_DADFAILED,
  IFA_F_TENTATIVE,
  type Link,
  type RouteClient,
} from "../../netlink/mod.ts";
import {
  openVrrpSocket,
  type VrrpSocket,
  type VrrpSocketOptions,
} from "../../vrrp/mod.ts";
import {
  type AuthConfig,
  type AuthKey,
  AuthKeyError,
  createSigner,
  defaultTimeWindowMs,
  loadAuthKeys,
  MULTICAST_REPLAY_SLOTS,
  parseKeySpec,
} from "../../vrrp_auth/mod.ts";
import {
  type ElectionBackend,
  type ElectionHost,
  ElectionStartError,
  type Elector,
  type ElectorContext,
} from "../_contract.ts";
import { type VrrpElectionStatus, VrrpElector } from "./_elector.ts";
import { VrrpGroup } from "./_group.ts";

/** What the VRRP backend opens; tests give it a fake network's socket. */
export interface VrrpBackendOptions {
  /** Opens the raw socket (default: `openVrrpSocket` of `lib/vrrp`). */
  openSocket?: (options: VrrpSocketOptions) => VrrpSocket;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** An address not usable yet (in DAD) or ever (DAD failed). */
const NOT_USABLE = IFA_F_TENTATIVE | IFA_F_DADFAILED;
/** How long a start waits for a link-local address still in DAD. */
const LINK_LOCAL_WAIT_MS = 5000;

function isLinkLocal(address: string): boolean {
  const b = parseIP(address).bytes;
  return b.length === 16 && b[0] === 0xfe && (b[1] & 0xc0) === 0x80;
}

/**
 * The interface's own address for the router of `vip`'s family: IPv4, the
 * first address that is not the VIP; IPv6, the first usable link-local
 * address (RFC 5798 §5.1.2.1), waiting a few seconds for one still in
 * duplicate-address detection (an interface that just came up).
 */
async function sourceAddress(
  ctx: { route: RouteClient; link: Link; clock: Clock },
  vip: Cidr,
): Promise<string> {
  const { route, link, clock } = ctx;
  const pick = (addrs: Address[]) =>
    vip.family === 4
      // The VIP may be left over from a previous run: never our source.
      ? addrs.find((a) => a.address !== vip.address)
      : addrs.find((a) =>
        isLinkLocal(a.address) && (a.flags & NOT_USABLE) === 0
      );
  const list = () =>
    route.listAddresses({ link: link.index, family: vip.family });
  let own = pick(await list());
  for (
    let waited = 0;
    !own && vip.family === 6 && waited < LINK_LOCAL_WAIT_MS;
    waited += 250
  ) {
    await clock.sleep(250);
    own = pick(await list());
  }
  if (own) return own.address;
  throw new ElectionStartError(
    vip.family === 4
      ? `interface ${link.name} has no IPv4 address of its own; VRRP needs one as the advertisement source ` +
        `(add one, or set election.vrrp.source_address)`
      : `interface ${link.name} has no usable IPv6 link-local address; IPv6 VRRP is sent from one ` +
        `(enable IPv6 on it, e.g. addrgenmode eui64, or set election.vrrp.source_address to a fe80:: address)`,
  );
}

/**
 * The keys of `election.vrrp.auth`, loaded once for every router. A key
 * file that cannot be used is a configuration problem (exit 2).
 */
async function loadKeys(
  config: Config,
  host: ElectionHost,
): Promise<Map<number, AuthKey> | null> {
  const specs = config.election.vrrp.auth.keys.map(parseKeySpec);
  if (specs.length === 0) return null;
  try {
    return await loadAuthKeys(
      specs.filter((s) => !("error" in s)) as { id: number; file: string }[],
      { warn: (m) => host.log.warn(m) },
    );
  } catch (err) {
    if (err instanceof AuthKeyError) {
      throw new ConfigError(
        err.problems.map((message) => ({
          path: "election.vrrp.auth.keys",
          message,
        })),
      );
    }
    throw err;
  }
}

function authConfig(
  config: Config,
  keys: Map<number, AuthKey>,
  peers: readonly string[],
): AuthConfig {
  const auth = config.election.vrrp.auth;
  return {
    keys,
    // With several keys the configuration check made active_key required.
    activeKeyId: auth.active_key ?? [...keys.keys()][0],
    mode: auth.mode ?? "enforce",
    antiReplay: auth.anti_replay ?? "time",
    timeWindowMs: auth.time_window ??
      defaultTimeWindowMs(config.election.vrrp.advert_interval),
    // keepalived's 4 LRU slots on a multicast group; one per unicast peer.
    replaySlots: peers.length > 0 ? peers.length : MULTICAST_REPLAY_SLOTS,
  };
}

/** What every router of one node shares. */
interface Shared {
  ctx: ElectorContext;
  keys: Map<number, AuthKey> | null;
  openSocket: (options: VrrpSocketOptions) => VrrpSocket;
  dual: boolean;
}

/** One virtual router: the VIP of one family. */
async function createRouter(vip: Cidr, s: Shared): Promise<VrrpElector> {
  const { config, link } = s.ctx;
  const vrrp = config.election.vrrp;
  const sameFamily = (a: string) => parseIP(a).family === vip.family;
  const primaryIp = vrrp.source_address.find(sameFamily) ??
    await sourceAddress(s.ctx, vip);
  // Without it every advertisement fails (ENETUNREACH) and peers take
  // over: this node must not keep the VIP (of this family) meanwhile.
  s.ctx.host.requireAddress(
    primaryIp,
    "cannot advertise: no source address",
    s.dual ? vip.address : undefined,
  );
  const peers = vrrp.unicast_peers.filter(sameFamily);
  const auth = s.keys === null ? undefined : authConfig(config, s.keys, peers);
  const signer = auth === undefined ? undefined : createSigner({
    config: auth,
    wallClock: () => s.ctx.clock.wallNow?.() ?? Date.now(),
  });
  const socketOptions: VrrpSocketOptions = {
    interface: link.name,
    primaryIp,
    peers,
    sign: signer?.sign,
  };
  let socket: VrrpSocket;
  try {
    socket = s.openSocket(socketOptions);
  } catch (err) {
    throw new ElectionStartError(
      `cannot open the ${
        s.dual ? `IPv${vip.family} ` : ""
      }VRRP socket on ${link.name}: ${errorText(err)} (source ${primaryIp})`,
      { cause: err },
    );
  }
  const family = `IPv${vip.family}`;
  return new VrrpElector({
    machine: {
      priority: vrrp.priority,
      advertIntervalCs: vrrp.advert_interval / 10,
      preempt: vrrp.preempt,
      primaryIp,
    },
    vrid: vrrp.vrid,
    addresses: [vip.address],
    vip: s.dual ? vip.address : undefined,
    auth,
    labels: s.dual ? { family: String(vip.family) } : undefined,
    socket,
    socketOptions,
    ifindex: link.index,
    openSocket: s.openSocket,
    host: s.dual
      ? { ...s.ctx.host, log: s.ctx.host.log.with({ family }) }
      : s.ctx.host,
    clock: s.ctx.clock,
  });
}

/** The `vrrp` election backend (VRRPv3, RFC 5798). */
export function vrrpBackend(
  options: VrrpBackendOptions = {},
): ElectionBackend<VrrpElectionStatus> {
  const openSocket = options.openSocket ?? openVrrpSocket;
  return {
    mode: "vrrp",
    async create(ctx: ElectorContext): Promise<Elector<VrrpElectionStatus>> {
      const vips = ctx.config.vip.map(parseCidr);
      const keys = await loadKeys(ctx.config, ctx.host);
      if (keys === null) {
        ctx.host.log.info(
          "VRRP adverts are not authenticated: any host on this segment can take the VIP " +
            "(see election.vrrp.auth)",
        );
      }
      const shared = { ctx, keys, openSocket, dual: vips.length > 1 };
      const routers: VrrpElector[] = [];
      try {
        for (const vip of vips) routers.push(await createRouter(vip, shared));
      } catch (err) {
        for (const r of routers) await r[Symbol.asyncDispose]();
        throw err;
      }
      return routers.length === 1 ? routers[0] : new VrrpGroup(routers);
    },
  };
}

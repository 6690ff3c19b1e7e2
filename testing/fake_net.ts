/**
 * A fake kernel and a fake Ethernet segment for in-process tests, the way
 * mdlayher/netlink's `nltest.Dial` stands in for the kernel: each
 * {@link FakeKernel} has links and addresses (with lifetimes that run out
 * on the fake clock), answers the daemon's netlink requests, notifies its
 * watchers of changes, records announcements, and opens VRRP sockets on a
 * {@link FakeSegment} that carries real encoded advertisements between
 * nodes. Nothing here needs root.
 *
 * @module
 */
import type {
  Announcer,
  AnnounceTarget,
  VipProbe,
} from "../lib/announce/mod.ts";
import type { Platform } from "../lib/daemon/mod.ts";
import {
  formatMac,
  inSubnet,
  parseCidr,
  parseIP,
  parseIPv4,
} from "../lib/ip/mod.ts";
import type {
  Address,
  AddressFilter,
  AddressOptions,
  DeleteAddressOptions,
  Link,
  RouteClient,
  RouteEvent,
  RouteWatcher,
  WatchOptions,
} from "../lib/netlink/mod.ts";
import { Errno, SysError } from "../lib/sys/mod.ts";
import {
  type Advertisement,
  type AdvertSigner,
  encodeAdvertisement,
  familyOf,
  type SendFailure,
  type VrrpDatagram,
  type VrrpFamily,
  vrrpMulticastGroup,
  type VrrpSocket,
  type VrrpSocketOptions,
} from "../lib/vrrp/mod.ts";
import type { FakeClock } from "./fake_clock.ts";

const FOREVER = 0xffffffff;
/** IFA_F_SECONDARY. */
const SECONDARY = 0x01;
const IFF_UP = 0x1;
const IFF_LOWER_UP = 0x10000;

/** Operations whose next call can be made to fail ({@link FakeKernel.failNext}). */
export type FakeOp =
  | "getLink"
  | "listAddresses"
  | "replaceAddress"
  | "deleteAddress"
  | "setLink"
  | "announce"
  | "openVrrpSocket"
  | "vrrpRecv";

/** How a link is created. */
export interface FakeLinkSpec {
  /** Its MAC (default: derived from the index). */
  mac?: string;
  /** Administratively up (default true). */
  up?: boolean;
  /** Carrier (default true). */
  carrier?: boolean;
  /** The segment its cable is plugged into. */
  segment?: FakeSegment;
}

/** One announcement the fake kernel sent. */
export interface FakeAnnouncement {
  /** Fake time it went out. */
  atMs: number;
  /** The address announced. */
  ip: string;
  /** The interface. */
  ifindex: number;
  /** The MAC it points at. */
  mac: string;
}

interface LinkRec {
  link: Link;
  segment?: FakeSegment;
}

interface AddrRec {
  address: Address;
  expiresAt: number | null;
  expiry?: Disposable;
}

/** An L2 segment (a switch): carries VRRP datagrams between fake kernels. */
export class FakeSegment {
  readonly #sockets = new Set<FakeVrrpSocket>();
  readonly #isolated = new Set<FakeKernel>();
  readonly #kernels = new Set<FakeKernel>();
  /** Datagrams carried (tests of traffic). */
  carried = 0;

  /** Cuts `kernel` off the segment (a partition that keeps carrier). */
  isolate(kernel: FakeKernel): void {
    this.#isolated.add(kernel);
  }

  /** Ends {@link isolate}. */
  rejoin(kernel: FakeKernel): void {
    this.#isolated.delete(kernel);
  }

  /** @internal A kernel with a link on this segment. */
  plug(kernel: FakeKernel): void {
    this.#kernels.add(kernel);
  }

  /**
   * Who answers an ARP probe for `ip` sent by `from`: the MAC of another
   * kernel on the segment that has the address on a link that is up and
   * plugged in here, unless either side is isolated.
   */
  whoHas(from: FakeKernel, ip: string): string | null {
    if (this.#isolated.has(from)) return null;
    for (const k of this.#kernels) {
      if (k === from || this.#isolated.has(k)) continue;
      const mac = k.answersFor(ip, this);
      if (mac !== null) return mac;
    }
    return null;
  }

  /** @internal */
  attach(s: FakeVrrpSocket): void {
    this.#sockets.add(s);
  }

  /** @internal */
  detach(s: FakeVrrpSocket): void {
    this.#sockets.delete(s);
  }

  /**
   * Delivers a raw datagram (a forged or broken packet) to every socket of
   * its family: an IPv4 datagram (header first), or an IPv6 packet as a raw
   * IPv6 socket hands it over.
   */
  inject(datagram: VrrpDatagram): void {
    const family = datagram instanceof Uint8Array ? 4 : 6;
    for (const s of this.#sockets) {
      if (s.family === family && s.linkUp()) s.push(copy(datagram));
    }
  }

  /** Delivers `datagram` from `from` to `dst` (multicast or one peer). */
  deliver(from: FakeVrrpSocket, dst: string, datagram: VrrpDatagram): void {
    if (this.#isolated.has(from.kernel)) return;
    for (const s of this.#sockets) {
      if (s === from || this.#isolated.has(s.kernel) || !s.linkUp()) continue;
      if (s.family !== from.family) continue;
      if (dst !== vrrpMulticastGroup(s.family) && dst !== s.primaryIp) continue;
      this.carried++;
      s.push(copy(datagram));
    }
  }
}

function copy(d: VrrpDatagram): VrrpDatagram {
  return d instanceof Uint8Array
    ? d.slice()
    : { ...d, payload: d.payload.slice() };
}

/** RFC 791 header checksum. */
function ipChecksum(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < header.length; i += 2) {
    sum += (header[i] << 8) | header[i + 1];
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** What a raw IPv4 socket receives: a 20-byte header with TTL 255, then `payload`. */
export function ipv4Datagram(
  src: string,
  dst: string,
  payload: Uint8Array,
  ttl = 255,
): Uint8Array {
  const out = new Uint8Array(20 + payload.length);
  const v = new DataView(out.buffer);
  out[0] = 0x45;
  out[1] = 0xc0;
  v.setUint16(2, out.length);
  out[8] = ttl;
  out[9] = 112;
  out.set(parseIPv4(src), 12);
  out.set(parseIPv4(dst), 16);
  v.setUint16(10, ipChecksum(out.subarray(0, 20)));
  out.set(payload, 20);
  return out;
}

/** A wait that ends with a value, a fake-clock timeout (null), an abort or a close. */
class Waiter<T> {
  #pending?: { resolve: (v: T | null) => void; cleanup: () => void };

  constructor(readonly clock: FakeClock) {}

  wait(timeoutMs: number, signal?: AbortSignal): Promise<T | null> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve(null);
      const timer = this.clock.timeout(timeoutMs, () => this.wake(null));
      const onAbort = () => this.wake(null);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#pending = {
        resolve,
        cleanup: () => {
          timer[Symbol.dispose]();
          signal?.removeEventListener("abort", onAbort);
        },
      };
    });
  }

  get waiting(): boolean {
    return this.#pending !== undefined;
  }

  wake(value: T | null): void {
    const p = this.#pending;
    if (!p) return;
    this.#pending = undefined;
    p.cleanup();
    p.resolve(value);
  }
}

class FakeVrrpSocket implements VrrpSocket {
  readonly mode: "multicast" | "unicast";
  readonly family: VrrpFamily;
  readonly #queue: VrrpDatagram[] = [];
  readonly #waiter: Waiter<VrrpDatagram>;
  #closed = false;

  constructor(
    readonly kernel: FakeKernel,
    readonly ifindex: number,
    readonly primaryIp: string,
    readonly peers: readonly string[],
    readonly segment: FakeSegment | undefined,
    readonly sign?: AdvertSigner,
  ) {
    this.mode = peers.length === 0 ? "multicast" : "unicast";
    this.family = familyOf(primaryIp);
    this.#waiter = new Waiter(kernel.clock);
    segment?.attach(this);
  }

  linkUp(): boolean {
    const l = this.kernel.linkByIndex(this.ifindex);
    return l !== undefined && l.up && l.carrier;
  }

  push(datagram: VrrpDatagram): void {
    if (this.#closed) return;
    if (this.#waiter.waiting) this.#waiter.wake(datagram);
    else this.#queue.push(datagram);
  }

  send(adv: Advertisement): SendFailure[] {
    const dsts = this.peers.length === 0
      ? [vrrpMulticastGroup(this.family)]
      : this.peers;
    const errno = this.#sendErrno();
    if (errno !== 0) {
      return dsts.map((dst) => ({
        dst,
        error: new SysError("sendto on AF_INET/SOCK_RAW/112", errno),
      }));
    }
    let trailer: Uint8Array | undefined;
    for (const dst of dsts) {
      const pdu = encodeAdvertisement(adv, { src: this.primaryIp, dst });
      trailer ??= this.sign?.({ pdu, src: parseIP(this.primaryIp).bytes }) ??
        new Uint8Array(0);
      const vrrp = new Uint8Array([...pdu, ...trailer]);
      const datagram: VrrpDatagram = this.family === 4
        ? ipv4Datagram(this.primaryIp, dst, vrrp)
        : { src: this.primaryIp, dst, ttl: 255, protocol: 112, payload: vrrp };
      this.segment?.deliver(this, dst, datagram);
    }
    return [];
  }

  #sendErrno(): number {
    if (this.#closed) return Errno.EBADF;
    const l = this.kernel.linkByIndex(this.ifindex);
    if (l === undefined) return Errno.ENODEV;
    if (!l.up || !l.carrier) return Errno.ENETDOWN;
    // The kernel picks no other source: the checksum covers this one.
    if (!this.kernel.hasAddress(this.primaryIp)) return Errno.ENETUNREACH;
    return 0;
  }

  recv(o: { timeoutMs: number; signal?: AbortSignal }) {
    if (this.#closed) return Promise.resolve(null);
    const errno = this.kernel.takeFailure("vrrpRecv");
    if (errno !== undefined) {
      return Promise.reject(new SysError("recvfrom", errno));
    }
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    return this.#waiter.wait(o.timeoutMs, o.signal);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.segment?.detach(this);
    this.#waiter.wake(null);
    this.kernel.vrrpSocketsOpen--;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

class FakeWatcher implements RouteWatcher {
  readonly #queue: RouteEvent[] = [];
  readonly #waiter: Waiter<RouteEvent[]>;
  #closed = false;

  constructor(readonly kernel: FakeKernel) {
    this.#waiter = new Waiter(kernel.clock);
  }

  get closed(): boolean {
    return this.#closed;
  }

  push(e: RouteEvent): void {
    if (this.#closed) return;
    this.#queue.push(e);
    if (this.#waiter.waiting) this.#waiter.wake(this.#queue.splice(0));
  }

  next(o: WatchOptions): Promise<RouteEvent[] | null> {
    if (this.#closed) return Promise.resolve(null);
    if (this.#queue.length > 0) return Promise.resolve(this.#queue.splice(0));
    return this.#waiter.wait(o.timeoutMs, o.signal);
  }

  close(): void {
    this.#closed = true;
    this.#waiter.wake(null);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * One node's kernel: links, addresses and the sockets the daemon opens,
 * all on the fake clock.
 */
export class FakeKernel {
  readonly clock: FakeClock;
  /** For messages. */
  readonly name: string;
  /** Every announcement round sent, in order. */
  readonly announcements: FakeAnnouncement[] = [];
  /** Netlink request clients open now. */
  routesOpen = 0;
  /** VRRP sockets open now. */
  vrrpSocketsOpen = 0;
  /** Announcers open now. */
  announcersOpen = 0;
  #nextIndex = 2;
  readonly #links = new Map<number, LinkRec>();
  #addrs: AddrRec[] = [];
  /** `net.ipv4.conf.<if>.promote_secondaries` by link index (default off). */
  readonly #promote = new Map<number, boolean>();
  readonly #watchers = new Set<FakeWatcher>();
  readonly #failures = new Map<FakeOp, number[]>();

  /** A kernel with no links yet. */
  constructor(clock: FakeClock, name = "node") {
    this.clock = clock;
    this.name = name;
  }

  /** The real-looking platform for `runDaemon`. */
  platform(): Platform {
    return {
      clock: this.clock,
      openRoute: () => this.openRoute(),
      watchRoute: () => this.watchRoute(),
      openAnnouncer: (t) => this.openAnnouncer(t),
      openVipProbe: (t) => this.openVipProbe(t),
    };
  }

  // ---- the operator's side ---------------------------------------------------

  /** Creates a link (a new index each time, as the kernel does). */
  addLink(name: string, spec: FakeLinkSpec = {}): Link {
    const index = this.#nextIndex++;
    const mac = spec.mac ??
      formatMac(Uint8Array.of(2, 0, 0, 0, index >> 8, index & 0xff));
    const rec: LinkRec = {
      link: makeLink(index, name, mac, spec.up ?? true, spec.carrier ?? true),
      segment: spec.segment,
    };
    spec.segment?.plug(this);
    this.#links.set(index, rec);
    this.#notify({ type: "link", deleted: false, link: rec.link });
    return rec.link;
  }

  /** Sets a link up/down or plugs/unplugs its cable. */
  setLink(name: string, change: { up?: boolean; carrier?: boolean }): void {
    const rec = this.#byName(name);
    if (!rec) throw new Error(`${this.name}: no link ${name}`);
    const l = rec.link;
    rec.link = makeLink(
      l.index,
      l.name,
      l.mac,
      change.up ?? l.up,
      change.carrier ?? l.carrier,
    );
    this.#notify({ type: "link", deleted: false, link: rec.link });
  }

  /**
   * Deletes a link and its addresses, in the kernel's order: the link goes
   * down, its addresses go, then the link.
   */
  deleteLink(name: string): void {
    const rec = this.#byName(name);
    if (!rec) throw new Error(`${this.name}: no link ${name}`);
    if (rec.link.up) this.setLink(name, { up: false });
    for (
      const a of this.#addrs.filter((r) => r.address.ifindex === rec.link.index)
    ) {
      this.#dropAddress(a);
    }
    this.#links.delete(rec.link.index);
    this.#notify({ type: "link", deleted: true, link: rec.link });
  }

  /** Adds an address by hand (`ip addr add`): permanent unless `validLft`. */
  addAddress(link: string, cidr: string, o: { validLft?: number } = {}): void {
    const rec = this.#byName(link);
    if (!rec) throw new Error(`${this.name}: no link ${link}`);
    const c = parseCidr(cidr);
    this.#write(
      rec.link.index,
      c.address,
      c.prefixLength,
      o.validLft ?? FOREVER,
      o.validLft === undefined ? FOREVER : 0,
    );
  }

  /** Sets a link's `promote_secondaries` by hand (`sysctl -w`). */
  setPromoteSecondaries(link: string, on: boolean): void {
    const rec = this.#byName(link);
    if (!rec) throw new Error(`${this.name}: no link ${link}`);
    this.#promote.set(rec.link.index, on);
  }

  /** A link's `promote_secondaries`. */
  promoteSecondaries(link: string): boolean {
    const rec = this.#byName(link);
    return rec !== undefined && (this.#promote.get(rec.link.index) ?? false);
  }

  /**
   * Marks an IPv6 address as the kernel does when duplicate address
   * detection failed (IFA_F_DADFAILED | IFA_F_TENTATIVE): not usable.
   */
  markDadFailed(address: string): void {
    const r = this.#addrs.find((x) => x.address.address === address);
    if (!r) throw new Error(`${this.name}: no address ${address}`);
    r.address = { ...r.address, flags: r.address.flags | 0x48 };
  }

  /** Removes an address by hand (`ip addr del`). */
  removeAddress(address: string): void {
    const r = this.#addrs.find((x) => x.address.address === address);
    if (!r) throw new Error(`${this.name}: no address ${address}`);
    this.#dropAddress(r);
  }

  /** Whether `address` is on any link (or on `link`). */
  hasAddress(address: string, link?: string): boolean {
    const index = link === undefined
      ? undefined
      : this.#byName(link)?.link.index;
    return this.#addrs.some((r) =>
      r.address.address === address &&
      (link === undefined || r.address.ifindex === index)
    );
  }

  /** The address record, with its lifetime left as the kernel reports it. */
  address(address: string): Address | undefined {
    const r = this.#addrs.find((x) => x.address.address === address);
    return r === undefined ? undefined : this.#snapshot(r);
  }

  /** The link with this index, if any. */
  linkByIndex(index: number): Link | undefined {
    return this.#links.get(index)?.link;
  }

  /** The next call of `op` fails with `errno` (queued, one per call). */
  failNext(op: FakeOp, errno: number): void {
    this.#failures.set(op, [...(this.#failures.get(op) ?? []), errno]);
  }

  /** @internal */
  takeFailure(op: FakeOp): number | undefined {
    return this.#failures.get(op)?.shift();
  }

  /** Tells every watcher that notifications were lost. */
  overrun(): void {
    for (const w of this.#watchers) w.push({ type: "overrun" });
  }

  // ---- the daemon's side ------------------------------------------------------

  /** A netlink request client. */
  openRoute(): RouteClient {
    this.routesOpen++;
    let open = true;
    const close = () => {
      if (open) this.routesOpen--;
      open = false;
    };
    return {
      getLink: (name) => this.#op("getLink", () => this.#getLink(name)),
      listLinks: () =>
        Promise.resolve([...this.#links.values()].map((r) => r.link)),
      listAddresses: (f) => this.#op("listAddresses", () => this.#list(f)),
      replaceAddress: (o) =>
        this.#op("replaceAddress", () => this.#replace(o, false)),
      addAddress: (o) =>
        this.#op("replaceAddress", () => this.#replace(o, true)),
      deleteAddress: (o) => this.#op("deleteAddress", () => this.#delete(o)),
      promoteSecondaries: (ifindex) =>
        this.#op("getLink", () => this.#promote.get(ifindex) ?? false),
      setPromoteSecondaries: (ifindex, on) =>
        this.#op("setLink", () => {
          if (!this.#links.has(ifindex)) {
            throw new SysError("set promote_secondaries", Errno.ENODEV);
          }
          this.#promote.set(ifindex, on);
        }),
      close,
      [Symbol.dispose]: close,
    };
  }

  /** A subscription to link and address changes. */
  watchRoute(): RouteWatcher {
    const w = new FakeWatcher(this);
    this.#watchers.add(w);
    return w;
  }

  /** An announcer that records rounds (fails as the kernel would). */
  /** @internal The MAC this kernel answers ARP for `ip` with on `segment`. */
  answersFor(ip: string, segment: FakeSegment): string | null {
    for (const r of this.#addrs) {
      if (r.address.address !== ip) continue;
      const rec = this.#links.get(r.address.ifindex);
      if (rec?.segment === segment && rec.link.up && rec.link.carrier) {
        return rec.link.mac;
      }
    }
    return null;
  }

  /** VIP probes opened (tests of the Lease handover). */
  probesOpen = 0;

  /** An ARP probe on the link's segment: who else answers for the address? */
  openVipProbe(t: AnnounceTarget): VipProbe {
    this.probesOpen++;
    let open = true;
    const close = () => {
      if (open) this.probesOpen--;
      open = false;
      return Promise.resolve();
    };
    return {
      ask: async (timeoutMs, signal) => {
        const segment = this.#links.get(t.ifindex)?.segment;
        const mac = segment?.whoHas(this, t.ip) ?? null;
        if (mac !== null) return mac;
        await this.clock.sleep(timeoutMs, signal);
        return null;
      },
      close,
      [Symbol.asyncDispose]: close,
    };
  }

  openAnnouncer(t: AnnounceTarget): Announcer {
    this.announcersOpen++;
    let open = true;
    const close = () => {
      if (open) this.announcersOpen--;
      open = false;
      return Promise.resolve();
    };
    const mac = typeof t.mac === "string" ? t.mac : formatMac(t.mac);
    return {
      kind: t.ip.includes(":")
        ? "unsolicited neighbour advertisement"
        : "gratuitous ARP",
      announce: () => {
        const errno = this.takeFailure("announce") ??
          this.#linkErrno(t.ifindex);
        if (errno !== 0) {
          throw new SysError(`send ARP on interface #${t.ifindex}`, errno);
        }
        this.announcements.push({
          atMs: this.clock.now(),
          ip: t.ip,
          ifindex: t.ifindex,
          mac,
        });
      },
      close,
      [Symbol.asyncDispose]: close,
    };
  }

  /** Opens a VRRP socket on the link's segment (the backend's seam). */
  openVrrpSocket(o: VrrpSocketOptions): VrrpSocket {
    const errno = this.takeFailure("openVrrpSocket");
    if (errno !== undefined) {
      throw new SysError("socket AF_INET/SOCK_RAW/112", errno);
    }
    const rec = this.#byName(o.interface);
    if (!rec) {
      throw new SysError(
        `find interface ${JSON.stringify(o.interface)}`,
        Errno.ENODEV,
      );
    }
    this.vrrpSocketsOpen++;
    return new FakeVrrpSocket(
      this,
      rec.link.index,
      o.primaryIp,
      o.peers ?? [],
      rec.segment,
      o.sign,
    );
  }

  // ---- internals ----------------------------------------------------------------

  #byName(name: string): LinkRec | undefined {
    return [...this.#links.values()].find((r) => r.link.name === name);
  }

  #linkErrno(index: number): number {
    const l = this.linkByIndex(index);
    if (l === undefined) return Errno.ENXIO;
    return l.up ? 0 : Errno.ENETDOWN;
  }

  #op<T>(op: FakeOp, fn: () => T): Promise<T> {
    const errno = this.takeFailure(op);
    if (errno !== undefined) {
      return Promise.reject(new SysError(`${op} (fake)`, errno));
    }
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #getLink(name: string): Link {
    const rec = this.#byName(name);
    if (!rec) {
      throw new SysError(`get link ${JSON.stringify(name)}`, Errno.ENODEV, {
        hint: `no interface ${JSON.stringify(name)}`,
      });
    }
    return rec.link;
  }

  #list(f: AddressFilter = {}): Address[] {
    const index = typeof f.link === "string"
      ? this.#getLink(f.link).index
      : f.link;
    return this.#addrs
      .filter((r) => index === undefined || r.address.ifindex === index)
      .filter((r) => f.family === undefined || r.address.family === f.family)
      .map((r) => this.#snapshot(r));
  }

  #replace(o: AddressOptions, exclusive: boolean): void {
    const what = `${
      exclusive ? "add" : "replace"
    } address ${o.address}/${o.prefixLength}`;
    if (!this.#links.has(o.ifindex)) throw new SysError(what, Errno.ENODEV);
    if (exclusive && this.hasAddress(o.address)) {
      throw new SysError(what, Errno.EEXIST);
    }
    this.#write(
      o.ifindex,
      o.address,
      o.prefixLength,
      o.validLft,
      o.preferredLft,
    );
  }

  #delete(o: DeleteAddressOptions): boolean {
    const what = `delete address ${o.address}/${o.prefixLength}`;
    if (!this.#links.has(o.ifindex)) throw new SysError(what, Errno.ENODEV);
    const r = this.#addrs.find((x) =>
      x.address.address === o.address && x.address.ifindex === o.ifindex
    );
    if (!r) {
      if (o.ignoreMissing) return false;
      throw new SysError(what, Errno.EADDRNOTAVAIL);
    }
    this.#dropAddress(r);
    return true;
  }

  #write(
    ifindex: number,
    address: string,
    prefixLength: number,
    validLft: number,
    preferredLft: number,
  ): void {
    let r = this.#addrs.find((x) =>
      x.address.address === address && x.address.ifindex === ifindex
    );
    if (!r) {
      const family = address.includes(":") ? 6 : 4;
      // IPv4: the first address of a subnet (same prefix length) is its
      // primary, later ones are its secondaries.
      const secondary = family === 4 &&
        this.#subnetPeers(ifindex, address, prefixLength).length > 0;
      r = {
        address: {
          address,
          prefixLength,
          family,
          ifindex,
          label: "",
          flags: secondary ? SECONDARY : 0,
          validLft,
          preferredLft,
        },
        expiresAt: null,
      };
      this.#addrs.push(r);
    }
    r.expiry?.[Symbol.dispose]();
    r.address = {
      ...r.address,
      validLft,
      preferredLft,
      // Like the kernel: a replace keeps IFA_F_DADFAILED | IFA_F_TENTATIVE.
      flags: (r.address.flags & (SECONDARY | 0x48)) |
        (validLft === FOREVER ? 0x80 : 0),
    };
    r.expiresAt = validLft === FOREVER
      ? null
      : this.clock.now() + validLft * 1000;
    const rec = r;
    r.expiry = validLft === FOREVER
      ? undefined
      : this.clock.timeout(validLft * 1000, () => this.#dropAddress(rec));
    this.#notify({
      type: "address",
      deleted: false,
      address: this.#snapshot(r),
    });
  }

  /** The other IPv4 addresses of `address`'s subnet on the link. */
  #subnetPeers(
    ifindex: number,
    address: string,
    prefixLength: number,
  ): AddrRec[] {
    const bytes = parseIPv4(address);
    return this.#addrs.filter((x) =>
      x.address.ifindex === ifindex && x.address.family === 4 &&
      x.address.address !== address &&
      x.address.prefixLength === prefixLength &&
      inSubnet(parseIPv4(x.address.address), bytes, prefixLength)
    );
  }

  /**
   * Deletes an address as the kernel does: deleting an IPv4 subnet's
   * primary deletes its secondaries too, unless promote_secondaries is on
   * for the link (then the first secondary becomes the primary).
   */
  #dropAddress(r: AddrRec): void {
    r.expiry?.[Symbol.dispose]();
    this.#addrs = this.#addrs.filter((x) => x !== r);
    this.#notify({
      type: "address",
      deleted: true,
      address: this.#snapshot(r),
    });
    const a = r.address;
    if (a.family !== 4 || (a.flags & SECONDARY) !== 0) return;
    const secondaries = this.#subnetPeers(a.ifindex, a.address, a.prefixLength)
      .filter((x) => (x.address.flags & SECONDARY) !== 0);
    if (secondaries.length === 0) return;
    if (this.#promote.get(a.ifindex) ?? false) {
      const p = secondaries[0];
      p.address = { ...p.address, flags: p.address.flags & ~SECONDARY };
      this.#notify({
        type: "address",
        deleted: false,
        address: this.#snapshot(p),
      });
      return;
    }
    for (const x of secondaries) {
      x.expiry?.[Symbol.dispose]();
      this.#addrs = this.#addrs.filter((y) => y !== x);
      this.#notify({
        type: "address",
        deleted: true,
        address: this.#snapshot(x),
      });
    }
  }

  #snapshot(r: AddrRec): Address {
    if (r.expiresAt === null) return { ...r.address };
    const left = Math.max(
      0,
      Math.ceil((r.expiresAt - this.clock.now()) / 1000),
    );
    return {
      ...r.address,
      validLft: left,
      preferredLft: Math.min(r.address.preferredLft, left),
    };
  }

  #notify(e: RouteEvent): void {
    for (const w of this.#watchers) {
      if (w.closed) this.#watchers.delete(w);
      else w.push(e);
    }
  }
}

function makeLink(
  index: number,
  name: string,
  mac: string,
  up: boolean,
  carrier: boolean,
): Link {
  return {
    index,
    name,
    mac,
    hardwareAddress: Uint8Array.from(
      mac.split(":").map((h) => parseInt(h, 16)),
    ),
    mtu: 1500,
    up,
    carrier: up && carrier,
    operState: up && carrier ? "up" : "down",
    flags: (up ? IFF_UP : 0) | (up && carrier ? IFF_LOWER_UP : 0),
    type: 1,
  };
}

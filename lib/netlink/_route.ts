/**
 * rtnetlink operations on links and addresses, in the caller's network
 * namespace: the {@link RouteClient} interface (what the daemon, the VIP
 * holder and the CLI use, and what a fake kernel implements) and
 * {@link RouteSocket}, the real one over a {@link NetlinkConn}.
 *
 * @module
 */
import { type IpFamily, parseIP } from "../ip/mod.ts";
import {
  checkIfindex,
  Errno,
  errnoOf,
  IFNAMSIZ,
  interfaceName,
  isNotExist,
} from "../sys/mod.ts";
import {
  decodeAddressMessage,
  deleteAddressRequest,
  getAddressDumpRequest,
  IFA_F_NODAD,
  INFINITY_LIFE_TIME,
  newAddressRequest,
  RTM_NEWADDR,
} from "./_address.ts";
import {
  NetlinkConn,
  netlinkError,
  type NetlinkTransport,
  openNetlinkTransport,
} from "./_conn.ts";
import {
  decodeInetConf,
  IPV4_DEVCONF_PROMOTE_SECONDARIES,
  setInetConfRequest,
} from "./_devconf.ts";
import {
  decodeLinkMessage,
  getLinkByIndexRequest,
  getLinkByNameRequest,
  getLinkDumpRequest,
  RTM_NEWLINK,
} from "./_link.ts";
import type { NetlinkMessage } from "./_message.ts";
import {
  type Address,
  afOf,
  type Link,
  toAddress,
  toLink,
} from "./_objects.ts";

/** Options common to every operation. */
export interface RequestOptions {
  /** How long to wait for the kernel's answer (default 3000 ms). */
  timeoutMs?: number;
}

/** Which addresses {@link RouteClient.listAddresses} returns. */
export interface AddressFilter {
  /** Only this interface (index or name). */
  link?: number | string;
  /** Only this family. */
  family?: IpFamily;
}

/** What {@link RouteClient.replaceAddress} and `addAddress` configure. */
export interface AddressOptions extends RequestOptions {
  /** Interface index. */
  ifindex: number;
  /** IPv4 or IPv6 address text, without the prefix length. */
  address: string;
  /** Prefix length (the subnet's, or 32/128). */
  prefixLength: number;
  /**
   * Valid lifetime in s (1..0xffffffff; 0xffffffff = forever). The kernel
   * removes the address when it runs out: re-send to refresh.
   */
  validLft: number;
  /** Preferred lifetime in s (0 = never used as a source address). */
  preferredLft: number;
  /** IPv4 label (by convention `<interface>:<tag>`, e.g. `eth0:vip`). */
  label?: string;
  /** IPv6: skip duplicate address detection (default true: usable at once). */
  noDad?: boolean;
}

/** What {@link RouteClient.deleteAddress} removes. */
export interface DeleteAddressOptions extends RequestOptions {
  /** Interface index. */
  ifindex: number;
  /** IPv4 or IPv6 address text. */
  address: string;
  /** Prefix length it was added with. */
  prefixLength: number;
  /** Resolve `false` instead of throwing EADDRNOTAVAIL when it is absent. */
  ignoreMissing?: boolean;
}

/** Address operations (the VIP holder's needs). */
export interface AddressOps {
  /** Addresses, optionally of one link and one family. */
  listAddresses(
    filter?: AddressFilter,
    options?: RequestOptions,
  ): Promise<Address[]>;
  /** Adds the address, or resets the lifetimes of the one present. */
  replaceAddress(options: AddressOptions): Promise<void>;
  /** Deletes exactly this address; see {@link DeleteAddressOptions}. */
  deleteAddress(options: DeleteAddressOptions): Promise<boolean>;
  /**
   * The interface's `net.ipv4.conf.<if>.promote_secondaries`: whether
   * deleting a subnet's primary IPv4 address promotes a secondary instead
   * of deleting them all.
   */
  promoteSecondaries(
    ifindex: number,
    options?: RequestOptions,
  ): Promise<boolean>;
  /** Sets the interface's `promote_secondaries` (needs CAP_NET_ADMIN). */
  setPromoteSecondaries(
    ifindex: number,
    on: boolean,
    options?: RequestOptions,
  ): Promise<void>;
}

/**
 * Link and address operations: the seam for a fake kernel. Every failure
 * is a `SysError` (test its kind with `isNotExist` and friends).
 */
export interface RouteClient extends AddressOps, Disposable {
  /** The link called `name`; a missing one (ENODEV) names those that exist. */
  getLink(name: string, options?: RequestOptions): Promise<Link>;
  /** All links. */
  listLinks(options?: RequestOptions): Promise<Link[]>;
  /** Adds the address; EEXIST if present. */
  addAddress(options: AddressOptions): Promise<void>;
  /** Closes the client (idempotent). */
  close(): void;
}

/** Opens a {@link RouteSocket} on a netlink socket of its own. */
export function openRouteSocket(): RouteSocket {
  return new RouteSocket(openNetlinkTransport());
}

function ifaceText(ifindex: number): string {
  try {
    return interfaceName(ifindex);
  } catch {
    return `interface #${ifindex}`;
  }
}

function parseTarget(address: string, prefixLength: number) {
  const ip = parseIP(address);
  const max = ip.family === 4 ? 32 : 128;
  if (
    !Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > max
  ) {
    throw new RangeError(
      `prefix length of ${address} must be 0..${max}, got ${prefixLength}`,
    );
  }
  return { family: afOf(ip.family), ipFamily: ip.family, bytes: ip.bytes };
}

function checkLifetimes(o: AddressOptions): void {
  for (
    const [name, v] of [["validLft", o.validLft], [
      "preferredLft",
      o.preferredLft,
    ]] as const
  ) {
    if (!Number.isInteger(v) || v < 0 || v > INFINITY_LIFE_TIME) {
      throw new RangeError(
        `${name} must be an integer 0..4294967295 s, got ${v}`,
      );
    }
  }
  // The kernel answers EINVAL to these; say why instead.
  if (o.validLft === 0) throw new RangeError("validLft must be at least 1 s");
  if (o.preferredLft > o.validLft) {
    throw new RangeError(
      `preferredLft (${o.preferredLft}) must not exceed validLft (${o.validLft})`,
    );
  }
}

function oneLink(op: string, msgs: NetlinkMessage[]): Link {
  const links = msgs.filter((m) => m.header.type === RTM_NEWLINK)
    .map((m) => toLink(decodeLinkMessage(m.payload)));
  if (links.length !== 1) {
    throw netlinkError(op, Errno.EPROTO, {
      hint: `expected one link in the reply, got ${links.length}`,
    });
  }
  return links[0];
}

/** The real {@link RouteClient}: one NETLINK_ROUTE socket, requests in turn. */
export class RouteSocket implements RouteClient {
  readonly #conn: NetlinkConn;

  /** Takes ownership of `transport` (a fake one in tests). */
  constructor(transport: NetlinkTransport) {
    this.#conn = new NetlinkConn(transport);
  }

  /** Closes the socket (idempotent). */
  close(): void {
    this.#conn.close();
  }

  /** Same as {@link close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** The link called `name`; a missing one names those that exist. */
  async getLink(name: string, options: RequestOptions = {}): Promise<Link> {
    const op = `get link ${JSON.stringify(name)}`;
    const bytes = new TextEncoder().encode(name);
    if (bytes.length === 0 || bytes.length >= IFNAMSIZ || bytes.includes(0)) {
      throw await this.#missingLink(op, JSON.stringify(name), options);
    }
    try {
      return oneLink(
        op,
        await this.#conn.request(op, (seq) => getLinkByNameRequest(seq, name), {
          dump: false,
          ...options,
        }),
      );
    } catch (err) {
      if (!isNotExist(err)) throw err;
      throw await this.#missingLink(op, JSON.stringify(name), options);
    }
  }

  /** The link with index `ifindex`. */
  async getLinkByIndex(
    ifindex: number,
    options: RequestOptions = {},
  ): Promise<Link> {
    checkIfindex(ifindex);
    const op = `get link #${ifindex}`;
    try {
      return oneLink(
        op,
        await this.#conn.request(
          op,
          (seq) => getLinkByIndexRequest(seq, ifindex),
          { dump: false, ...options },
        ),
      );
    } catch (err) {
      if (!isNotExist(err)) throw err;
      throw await this.#missingLink(op, `#${ifindex}`, options);
    }
  }

  /** All links in this namespace. */
  async listLinks(options: RequestOptions = {}): Promise<Link[]> {
    const msgs = await this.#conn.request(
      "list links",
      (seq) => getLinkDumpRequest(seq),
      { dump: true, ...options },
    );
    return msgs.filter((m) => m.header.type === RTM_NEWLINK)
      .map((m) => toLink(decodeLinkMessage(m.payload)));
  }

  /** Addresses, optionally only those of one link and one family. */
  async listAddresses(
    filter: AddressFilter = {},
    options: RequestOptions = {},
  ): Promise<Address[]> {
    const ifindex = typeof filter.link === "string"
      ? (await this.getLink(filter.link, options)).index
      : filter.link;
    const family = filter.family;
    const msgs = await this.#conn.request(
      "list addresses",
      (seq) => getAddressDumpRequest(seq, family ? afOf(family) : 0),
      { dump: true, ...options },
    );
    const out: Address[] = [];
    for (const m of msgs) {
      if (m.header.type !== RTM_NEWADDR) continue;
      const a = toAddress(decodeAddressMessage(m.payload));
      // The kernel filters dumps only in strict mode: filter here.
      if (a === undefined) continue;
      if (ifindex !== undefined && a.ifindex !== ifindex) continue;
      if (family !== undefined && a.family !== family) continue;
      out.push(a);
    }
    return out;
  }

  /**
   * Adds the address, or, if it is there, resets its lifetimes
   * (RTM_NEWADDR with CREATE|REPLACE and IFA_CACHEINFO).
   */
  replaceAddress(options: AddressOptions): Promise<void> {
    return this.#newAddress("replace", options);
  }

  /** Adds the address; EEXIST (a `SysError`) if present. */
  addAddress(options: AddressOptions): Promise<void> {
    return this.#newAddress("add", options);
  }

  /**
   * Deletes exactly this address (IFA_LOCAL is always sent, so the
   * interface's own address is never hit). Resolves `true` when deleted,
   * `false` when absent and `ignoreMissing` is set; else EADDRNOTAVAIL.
   */
  async deleteAddress(options: DeleteAddressOptions): Promise<boolean> {
    checkIfindex(options.ifindex);
    const ip = parseTarget(options.address, options.prefixLength);
    const op = `delete address ${options.address}/${options.prefixLength} on ${
      ifaceText(options.ifindex)
    }`;
    const request = (seq: number) =>
      deleteAddressRequest(seq, {
        family: ip.family,
        prefixLength: options.prefixLength,
        ifindex: options.ifindex,
        local: ip.bytes,
      });
    try {
      await this.#conn.request(op, request, { dump: false, ...options });
      return true;
    } catch (err) {
      const errno = errnoOf(err);
      if (options.ignoreMissing && errno === Errno.EADDRNOTAVAIL) return false;
      if (errno !== Errno.ENODEV) throw err;
      throw await this.#missingLink(op, `#${options.ifindex}`, options);
    }
  }

  /** The interface's IPv4 `promote_secondaries` (false without IPv4 settings). */
  async promoteSecondaries(
    ifindex: number,
    options: RequestOptions = {},
  ): Promise<boolean> {
    checkIfindex(ifindex);
    const op = `get IPv4 settings of ${ifaceText(ifindex)}`;
    const msgs = await this.#conn.request(
      op,
      (seq) => getLinkByIndexRequest(seq, ifindex),
      { dump: false, ...options },
    );
    const link = msgs.find((m) => m.header.type === RTM_NEWLINK);
    const conf = link && decodeInetConf(link.payload);
    return (conf?.[IPV4_DEVCONF_PROMOTE_SECONDARIES - 1] ?? 0) !== 0;
  }

  /** Sets the interface's IPv4 `promote_secondaries`. */
  async setPromoteSecondaries(
    ifindex: number,
    on: boolean,
    options: RequestOptions = {},
  ): Promise<void> {
    checkIfindex(ifindex);
    const op = `set promote_secondaries=${on ? 1 : 0} on ${ifaceText(ifindex)}`;
    await this.#conn.request(
      op,
      (seq) =>
        setInetConfRequest(
          seq,
          ifindex,
          IPV4_DEVCONF_PROMOTE_SECONDARIES,
          on ? 1 : 0,
        ),
      { dump: false, ...options },
    );
  }

  async #newAddress(
    mode: "replace" | "add",
    o: AddressOptions,
  ): Promise<void> {
    checkIfindex(o.ifindex);
    const ip = parseTarget(o.address, o.prefixLength);
    checkLifetimes(o);
    if (o.label !== undefined && ip.ipFamily !== 4) {
      throw new RangeError("address labels exist for IPv4 only");
    }
    const flags = ip.ipFamily === 6 && (o.noDad ?? true) ? IFA_F_NODAD : 0;
    const op = `${mode} address ${o.address}/${o.prefixLength} on ${
      ifaceText(o.ifindex)
    }`;
    const request = (seq: number) =>
      newAddressRequest(seq, mode, {
        family: ip.family,
        prefixLength: o.prefixLength,
        flags,
        ifindex: o.ifindex,
        local: ip.bytes,
        label: o.label,
        cacheInfo: {
          preferred: o.preferredLft,
          valid: o.validLft,
          created: 0,
          updated: 0,
        },
      });
    try {
      await this.#conn.request(op, request, { dump: false, ...o });
    } catch (err) {
      if (errnoOf(err) !== Errno.ENODEV) throw err;
      throw await this.#missingLink(op, `#${o.ifindex}`, o);
    }
  }

  async #missingLink(
    op: string,
    what: string,
    options: RequestOptions,
  ): Promise<Error> {
    let existing = "(could not list interfaces)";
    try {
      const links = await this.listLinks(options);
      existing = links.map((l) => `${l.name} (#${l.index})`).join(", ");
    } catch {
      // Keep the original problem as the message.
    }
    return netlinkError(op, Errno.ENODEV, {
      hint: `no interface ${what}; existing interfaces: ${existing}`,
    });
  }
}

/**
 * Links and addresses as the rest of ha-vip sees them, converted from the
 * rtnetlink structs.
 *
 * @module
 */
import { formatIP, formatMac, type IpFamily } from "../ip/mod.ts";
import { AF_INET, AF_INET6 } from "../sys/mod.ts";
import { type AddressMessage, INFINITY_LIFE_TIME } from "./_address.ts";
import {
  IFF_LOWER_UP,
  IFF_UP,
  type LinkMessage,
  type OperState,
  operStateName,
} from "./_link.ts";

/** A network interface. */
export interface Link {
  /** Interface index. */
  index: number;
  /** Interface name. */
  name: string;
  /** Hardware address as `"aa:bb:cc:dd:ee:ff"` (`""` if none). */
  mac: string;
  /** Hardware address bytes (empty if none). */
  hardwareAddress: Uint8Array;
  /** MTU. */
  mtu: number;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** Carrier present (IFLA_CARRIER, else IFF_LOWER_UP). */
  carrier: boolean;
  /** RFC 2863 operational state ("up", "down", "unknown", ...). */
  operState: OperState;
  /** Raw IFF_* flags. */
  flags: number;
  /** ARPHRD_* link type (1 = Ethernet). */
  type: number;
}

/** An address on an interface. */
export interface Address {
  /** The local address as text. */
  address: string;
  /** Prefix length. */
  prefixLength: number;
  /** 4 or 6. */
  family: IpFamily;
  /** Interface index. */
  ifindex: number;
  /** IPv4 label (`""` if none). */
  label: string;
  /** IFA_F_* flags (IFA_F_SECONDARY, IFA_F_PERMANENT, ...). */
  flags: number;
  /** Valid lifetime left, in s; 0xffffffff = forever. */
  validLft: number;
  /** Preferred lifetime left, in s; 0xffffffff = forever. */
  preferredLft: number;
}

/** The `AF_*` number of an IP family. */
export function afOf(family: IpFamily): number {
  return family === 4 ? AF_INET : AF_INET6;
}

/** A decoded link message as a {@link Link}. */
export function toLink(m: LinkMessage): Link {
  return {
    index: m.ifindex,
    name: m.name,
    mac: formatMac(m.address),
    hardwareAddress: m.address,
    mtu: m.mtu,
    up: (m.flags & IFF_UP) !== 0,
    carrier: m.carrier !== undefined
      ? m.carrier !== 0
      : (m.flags & IFF_LOWER_UP) !== 0,
    operState: operStateName(m.operState),
    flags: m.flags,
    type: m.type,
  };
}

/** A decoded address message as an {@link Address}; undefined if unusable. */
export function toAddress(m: AddressMessage): Address | undefined {
  if (m.local === undefined) return undefined;
  if (m.family !== AF_INET && m.family !== AF_INET6) return undefined;
  return {
    address: formatIP(m.local),
    prefixLength: m.prefixLength,
    family: m.family === AF_INET ? 4 : 6,
    ifindex: m.ifindex,
    label: m.label ?? "",
    flags: m.flags,
    validLft: m.cacheInfo?.valid ?? INFINITY_LIFE_TIME,
    preferredLft: m.cacheInfo?.preferred ?? INFINITY_LIFE_TIME,
  };
}

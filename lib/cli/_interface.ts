/**
 * The VIP against the interface's addresses, for `check`, `vip add` and
 * `vip remove`: the node's own address is never a VIP, and only an address
 * with ha-vip's marks is ever removed as one.
 *
 * @module
 */
import { ownAddressConflict } from "../announce/mod.ts";
import { ConfigError, type LoadedConfig } from "../config/mod.ts";
import { parseCidr } from "../ip/mod.ts";
import type { Address, Link, RouteClient } from "../netlink/mod.ts";
import { openRouteSocket } from "../netlink/mod.ts";
import { isNotExist } from "../sys/mod.ts";

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The usage error for a VIP that is already an address of the interface
 * (without ha-vip's marks), or null; dual stack: for either VIP.
 */
export function ownAddressError(
  loaded: LoadedConfig,
  link: Link,
  addrs: readonly Address[],
): ConfigError | null {
  // Dual stack: every VIP.
  const issues = loaded.config.vip.flatMap((vip) => {
    const conflict = ownAddressConflict(parseCidr(vip), addrs, link.name);
    return conflict === null
      ? []
      : [{ path: "vip", message: conflict, origin: loaded.origins.vip }];
  });
  return issues.length === 0 ? null : new ConfigError(issues);
}

/**
 * What `check` says about the VIP and the interface on this machine: a
 * usage error when the VIP is one of its addresses; a warning when the
 * interface cannot be looked at here (check may run on a build host, where
 * the configuration is for another machine).
 */
export async function checkAgainstInterface(
  loaded: LoadedConfig,
  open: () => RouteClient = openRouteSocket,
): Promise<{ error?: ConfigError; warning?: string }> {
  const name = loaded.config.interface;
  const notCompared = "the VIP was not compared with the interface's addresses";
  let route: RouteClient;
  try {
    route = open();
  } catch (err) {
    return {
      warning: `cannot read the interfaces here (${
        errorText(err)
      }); ${notCompared}`,
    };
  }
  try {
    let link: Link;
    try {
      link = await route.getLink(name);
    } catch (err) {
      return {
        warning: isNotExist(err)
          ? `interface ${name} does not exist here (where check runs); ${notCompared}`
          : `cannot read interface ${name} (${errorText(err)}); ${notCompared}`,
      };
    }
    const addrs = await route.listAddresses({ link: link.index });
    return { error: ownAddressError(loaded, link, addrs) ?? undefined };
  } finally {
    route.close();
  }
}

/** `ha-vip vip add|remove`: claim or drop the VIP by hand (maintenance, debugging). */
import { parseCidr } from "../ip/mod.ts";
import { type Command, Option } from "commander";
import { type Config, parseDuration } from "../config/mod.ts";
import { carriesVipMarks, VipHolder } from "../announce/mod.ts";
import { openRouteSocket } from "../netlink/mod.ts";
import { createLogger } from "../observe/mod.ts";
import { ownAddressError } from "./_interface.ts";
import {
  CliExit,
  type CommandContext,
  EXIT,
  invalidConfiguration,
} from "./_context.ts";
import { addConfigOptions } from "./_options.ts";

/**
 * `--lifetime forever`: the longest *finite* lifetime the kernel keeps
 * (0xfffffffe s, about 136 years; 0xffffffff would be permanent). A VIP
 * ha-vip created always carries its marks, preferred_lft 0 and a finite
 * lifetime, so that `vip remove` and a daemon's start-up can tell it from
 * the node's own addresses, which they never remove.
 */
const FOREVER = 0xfffffffe;

function lifetimeSeconds(text: string | undefined, fallbackMs: number): number {
  if (text === undefined) return fallbackMs / 1000;
  if (text === "forever") return FOREVER;
  const ms = parseDuration(text);
  // The kernel counts valid lifetimes in u32 seconds, 0xffffffff meaning
  // permanent: anything longer would wrap around to a short lifetime.
  if (
    ms === undefined || ms < 1000 || ms % 1000 !== 0 ||
    ms / 1000 > FOREVER
  ) {
    throw new CliExit(
      EXIT.usage,
      `ha-vip vip add: --lifetime ${
        JSON.stringify(text)
      } is not valid; use whole seconds up to ${FOREVER}s (e.g. 30s, 10m) or "forever"`,
    );
  }
  return ms / 1000;
}

/** Registers `vip add` and `vip remove`. */
export function installVip(program: Command, ctx: CommandContext): void {
  const vip = program.command("vip").description(
    "add or remove the VIP by hand, with the same flags and errors as run",
  );
  installAdd(vip, ctx);
  installRemove(vip, ctx);
}

function installAdd(vip: Command, ctx: CommandContext): void {
  addConfigOptions(
    vip.command("add").description(
      "add the VIP (valid lifetime from announce.vip_lifetime, preferred_lft 0) and send the gratuitous ARP / NA burst",
    ).addOption(
      new Option(
        "--lifetime <duration|forever>",
        "valid lifetime of this manual VIP (default: announce.vip_lifetime, so it expires by itself unless refreshed)",
      ),
    ),
  ).action(async (opts) => {
    const loaded = await ctx.load(opts);
    const { config } = loaded;
    const lifetimeS = lifetimeSeconds(
      opts.lifetime,
      config.announce.vip_lifetime,
    );
    const log = createLogger({
      level: "warn",
      sink: (l) => ctx.io.err(l + "\n"),
    });
    await withKernelErrors("vip add", async () => {
      using route = openRouteSocket();
      const link = await route.getLink(config.interface);
      const own = ownAddressError(
        loaded,
        link,
        await route.listAddresses({ link: link.index }),
      );
      if (own) throw new CliExit(EXIT.usage, invalidConfiguration(own));
      // Dual stack: each VIP in turn.
      for (const text of config.vip) {
        const cidr = parseCidr(text);
        await using holder = new VipHolder({
          vip: cidr,
          link: { index: link.index, name: link.name, mac: link.mac },
          route,
          lifetimeS,
          burstCount: config.announce.garp_count,
          burstIntervalMs: config.announce.garp_interval,
          reannounceEveryMs: 0,
          log,
        });
        await holder.claim({ keepAlive: false });
        await holder.announce();
        const life = lifetimeS === FOREVER
          ? "forever (136 years: vip remove removes it)"
          : `for ${lifetimeS}s (it expires by itself)`;
        ctx.io.out(
          `added ${holder.description}, valid ${life}; announced with ${config.announce.garp_count} gratuitous ${
            cidr.family === 4 ? "ARP round(s)" : "neighbour advertisement(s)"
          }\n`,
        );
      }
    });
  });
}

function installRemove(vip: Command, ctx: CommandContext): void {
  addConfigOptions(
    vip.command("remove").description(
      "remove exactly the VIP from the interface, only if ha-vip created it (other addresses are never touched)",
    ),
  ).action(async (opts) => {
    const { config } = await ctx.load(opts);
    await withKernelErrors("vip remove", async () => {
      // Dual stack: each VIP in turn.
      for (const text of config.vip) await removeMarked(ctx, config, text);
    });
  });
}

/** Removes the VIP if it carries ha-vip's marks (exit 2 if it does not). */
async function removeMarked(
  ctx: CommandContext,
  config: Config,
  vip: string,
): Promise<void> {
  using route = openRouteSocket();
  const link = await route.getLink(config.interface);
  await using holder = new VipHolder({
    vip: parseCidr(vip),
    link: { index: link.index, name: link.name, mac: link.mac },
    route,
    lifetimeS: 1,
    burstCount: 0,
    burstIntervalMs: 0,
    reannounceEveryMs: 0,
    log: createLogger({
      level: "warn",
      sink: (l) => ctx.io.err(l + "\n"),
    }),
  });
  const there = await holder.leftover();
  if (there === undefined) {
    ctx.io.out(`${vip} was not on ${link.name}; nothing to do\n`);
    return;
  }
  if (!carriesVipMarks(there)) {
    throw new CliExit(
      EXIT.usage,
      `ha-vip vip remove: ${vip} on ${link.name} is not a VIP ha-vip created ` +
        `(its preferred lifetime is ${
          lifetimeText(there.preferredLft)
        }, its valid lifetime ` +
        `${
          lifetimeText(there.validLft)
        }; ha-vip's VIPs have preferred_lft 0 and a finite lifetime): ` +
        `not removing it. If it is a stale VIP of another tool, remove it by hand: ` +
        `ip addr del ${vip} dev ${link.name}`,
    );
  }
  // Like the daemon's release: never takes a node address along.
  await holder.release();
  ctx.io.out(`removed ${vip} from ${link.name}\n`);
}

function lifetimeText(s: number): string {
  return s === 0xffffffff ? "forever" : `${s}s`;
}

async function withKernelErrors(
  what: string,
  fn: () => Promise<void>,
): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof CliExit) throw err;
    throw new CliExit(
      EXIT.failure,
      `ha-vip ${what}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

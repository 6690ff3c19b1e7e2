/** `ha-vip vip add|remove`: claim or drop the VIP by hand (maintenance, debugging). */
import { parseCidr } from "../ip/mod.ts";
import { type Command, Option } from "commander";
import { parseDuration } from "../config/mod.ts";
import { VipHolder } from "../announce/mod.ts";
import { INFINITY_LIFE_TIME, openRouteSocket } from "../netlink/mod.ts";
import { createLogger } from "../observe/mod.ts";
import { CliExit, type CommandContext, EXIT } from "./_context.ts";
import { addConfigOptions } from "./_options.ts";

const FOREVER = INFINITY_LIFE_TIME;

function lifetimeSeconds(text: string | undefined, fallbackMs: number): number {
  if (text === undefined) return fallbackMs / 1000;
  if (text === "forever") return FOREVER;
  const ms = parseDuration(text);
  // The kernel counts valid lifetimes in u32 seconds, 0xffffffff meaning
  // forever: anything longer would wrap around to a short lifetime.
  if (
    ms === undefined || ms < 1000 || ms % 1000 !== 0 ||
    ms / 1000 >= FOREVER
  ) {
    throw new CliExit(
      EXIT.usage,
      `ha-vip vip add: --lifetime ${
        JSON.stringify(text)
      } is not valid; use whole seconds up to ${
        FOREVER - 1
      }s (e.g. 30s, 10m) or "forever"`,
    );
  }
  return ms / 1000;
}

/** Registers `vip add` and `vip remove`. */
export function installVip(program: Command, ctx: CommandContext): void {
  const vip = program.command("vip").description(
    "add or remove the VIP by hand, with the same flags and errors as run",
  );

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
    const { config } = await ctx.load(opts);
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
      await using holder = new VipHolder({
        vip: parseCidr(config.vip),
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
        ? "forever"
        : `for ${lifetimeS}s (it expires by itself)`;
      ctx.io.out(
        `added ${holder.description}, valid ${life}; announced with ${config.announce.garp_count} gratuitous ${
          parseCidr(config.vip).family === 4
            ? "ARP round(s)"
            : "neighbour advertisement(s)"
        }\n`,
      );
    });
  });

  addConfigOptions(
    vip.command("remove").description(
      "remove exactly the VIP from the interface (other addresses are never touched)",
    ),
  ).action(async (opts) => {
    const { config } = await ctx.load(opts);
    await withKernelErrors("vip remove", async () => {
      using route = openRouteSocket();
      const link = await route.getLink(config.interface);
      const cidr = parseCidr(config.vip);
      const removed = await route.deleteAddress({
        ifindex: link.index,
        address: cidr.address,
        prefixLength: cidr.prefixLength,
        ignoreMissing: true,
      });
      ctx.io.out(
        removed
          ? `removed ${config.vip} from ${link.name}\n`
          : `${config.vip} was not on ${link.name}; nothing to do\n`,
      );
    });
  });
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

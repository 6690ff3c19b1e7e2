/** `ha-vip run`: the daemon. */
import type { Command } from "commander";
import { DaemonStartError, runDaemon } from "../daemon/mod.ts";
import { createLogger } from "../observe/mod.ts";
import type { CommandContext } from "./mod.ts";
import { addConfigOptions } from "./options.ts";

/** Registers `run`. */
export function installRun(program: Command, ctx: CommandContext): void {
  addConfigOptions(
    program.command("run").description(
      "run the daemon: health-check the local API server, elect a holder by VRRP, hold and announce the VIP",
    ),
  ).action(async (opts) => {
    const loaded = await ctx.load(opts);
    const { config } = loaded;
    const log = createLogger({
      format: config.observe.log_format,
      level: config.observe.log_level,
    });
    for (const w of loaded.warnings) log.warn(w);
    try {
      ctx.setStatus(await runDaemon({ config, log, env: ctx.io.env }));
    } catch (err) {
      if (err instanceof DaemonStartError) {
        log.error(`cannot start: ${err.message}`);
      } else {
        log.error("ha-vip failed", {
          error: err instanceof Error
            ? (err.stack ?? err.message)
            : String(err),
        });
      }
      ctx.setStatus(1);
    }
  });
}

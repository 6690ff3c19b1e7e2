/** `ha-vip run`: the daemon. */
import type { Command } from "commander";
import { DaemonStartError, runDaemon } from "../daemon/mod.ts";
import {
  closeOpenInspector,
  denyNewListeners,
  hardenProcess,
  ownsProcess,
  watchStateDumps,
} from "../harden/mod.ts";
import { type Config, ConfigError } from "../config/mod.ts";
import {
  acquireInstanceLock,
  AlreadyRunningError,
  type InstanceLock,
} from "../instance/mod.ts";
import { formatIP, parseCidr } from "../ip/mod.ts";
import { createLogger, ListenError, type Logger } from "../observe/mod.ts";
import {
  CliExit,
  type CommandContext,
  EXIT,
  invalidConfiguration,
} from "./_context.ts";
import { addConfigOptions } from "./_options.ts";

/**
 * The daemon's process hardening (see lib/harden): SIGUSR1 held (main.ts
 * took it first thing; this is a no-op then, or the reason the daemon must
 * not start), state dumps served, and `onRunning` to forbid new listeners
 * once the daemon's own are up. `undefined` (logged) when it cannot start.
 */
async function harden(
  config: Config,
  log: Logger,
): Promise<{ stopDumps: () => void; onRunning: () => void } | undefined> {
  let armedBefore: boolean;
  try {
    ({ armedBefore } = hardenProcess());
  } catch (err) {
    log.error(
      `cannot start: cannot take SIGUSR1 from the runtime: ${
        err instanceof Error ? err.message : err
      }`,
    );
    return undefined;
  }
  if (armedBefore) {
    const closed = await closeOpenInspector();
    if (closed) {
      log.error(
        `a debugger server was open before ha-vip could take SIGUSR1 over (start-up slower than 500 ms); closed ${closed}`,
      );
    }
  }
  // A dump is asked for explicitly: it shows whatever the log level.
  const stopDumps = watchStateDumps(
    createLogger({ format: config.observe.log_format, level: "info" }),
  );
  const onRunning = () => {
    // Process-wide and permanent: never in a program that merely imports
    // the CLI (a test runner would lose listen() for good).
    if (!ownsProcess()) return;
    const why = denyNewListeners();
    if (why) log.warn(`cannot forbid new listening sockets (seccomp): ${why}`);
    else log.debug("listen() is now refused in this process (seccomp)");
  };
  return { stopDumps, onRunning };
}

/**
 * One daemon per interface and VIP, taken before anything touches the
 * interface: a second one would remove the live VIP as a leftover at start
 * and again at stop. `undefined` (logged) when another one runs.
 */
function takeLock(config: Config, log: Logger): InstanceLock | undefined {
  try {
    return acquireInstanceLock({
      interface: config.interface,
      vip: formatIP(parseCidr(config.vip).bytes),
    });
  } catch (err) {
    if (!(err instanceof AlreadyRunningError)) throw err;
    log.error(`cannot start: ${err.message}`);
    return undefined;
  }
}

/** Registers `run`. */
export function installRun(program: Command, ctx: CommandContext): void {
  addConfigOptions(
    program.command("run").description(
      "run the daemon: health-check the local API server, elect a holder by VRRP, hold and announce the VIP",
    ),
  ).action(async (opts) => {
    const loaded = await ctx.load(opts);
    const { config } = loaded;
    // SIGHUP may change the level of every logger at once.
    const level = { level: config.observe.log_level };
    const log = createLogger({
      format: config.observe.log_format,
      levelRef: level,
    });
    const reloader = ctx.reloader(opts);
    for (const w of loaded.warnings) log.warn(w);
    using lock = takeLock(config, log);
    const hardening = lock && await harden(config, log);
    if (!hardening) {
      ctx.setStatus(EXIT.failure);
      return;
    }
    const { stopDumps, onRunning } = hardening;
    try {
      ctx.setStatus(
        await runDaemon({
          config,
          log,
          env: ctx.io.env,
          onRunning,
          reload: reloader?.reload,
          configFile: reloader?.file,
          setLogLevel: (l) => level.level = l,
        }),
      );
    } catch (err) {
      // Found only at start (no such interface, port in use): usage errors
      // like those check finds, worded the same way, never a stack trace.
      const issues = err instanceof ConfigError
        ? err.issues
        : err instanceof ListenError
        ? [{ path: "observe.metrics_address", message: err.message }]
        : undefined;
      if (issues) {
        throw new CliExit(
          EXIT.usage,
          invalidConfiguration(
            new ConfigError(issues.map((i) => ({
              ...i,
              origin: i.origin ?? loaded.origins[i.path],
            }))),
          ),
        );
      }
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
    } finally {
      stopDumps();
    }
  });
}

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
import { type Config, ConfigError, type LoadedConfig } from "../config/mod.ts";
import {
  acquireInstanceLock,
  AlreadyRunningError,
  type InstanceLock,
} from "../instance/mod.ts";
import { formatIP, parseCidr } from "../ip/mod.ts";
import { createLogger, ListenError, type Logger } from "../observe/mod.ts";
import { setRealtimePriority } from "../sys/mod.ts";
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
 * `process.realtime_priority`: every thread of the daemon under SCHED_RR,
 * so that its timers are kept when other processes saturate the CPUs
 * (issue 12). Only in ha-vip's own process (a test runner that imports the
 * CLI keeps its scheduling). Refused (no CAP_SYS_NICE, a container): one
 * warning, and the daemon runs at normal priority.
 */
function raisePriority(config: Config, log: Logger): void {
  const priority = config.process.realtime_priority;
  if (priority === 0 || !ownsProcess()) return;
  try {
    const { threads, inherited, rttimeLimitUs } = setRealtimePriority(
      priority,
    );
    log.debug("realtime scheduling on", {
      priority,
      threads,
      inherited,
      rttime_limit_us: rttimeLimitUs,
    });
    if (rttimeLimitUs === undefined) {
      log.warn(
        "started realtime with no RLIMIT_RTTIME: a runaway thread could hold a CPU; set one (systemd: LimitRTTIME=1s:2s)",
      );
    }
  } catch (err) {
    log.warn(
      "running at normal priority: adverts may go out late on saturated CPUs (set process.realtime_priority 0 to say this is intended)",
      { error: err instanceof Error ? err.message : String(err) },
    );
  }
}

/**
 * One daemon per interface and VIP, taken before anything touches the
 * interface: a second one would remove the live VIP as a leftover at start
 * and again at stop. Dual stack takes one lock per VIP, so a daemon for
 * either of them alone is refused too. `undefined` (logged) when another
 * one runs.
 */
function takeLock(config: Config, log: Logger): InstanceLock | undefined {
  const held: InstanceLock[] = [];
  try {
    for (const vip of config.vip) {
      held.push(acquireInstanceLock({
        interface: config.interface,
        vip: formatIP(parseCidr(vip).bytes),
      }));
    }
  } catch (err) {
    for (const l of held) l.release();
    if (!(err instanceof AlreadyRunningError)) throw err;
    log.error(`cannot start: ${err.message}`);
    return undefined;
  }
  const release = () => {
    for (const l of held) l.release();
  };
  return {
    name: held.map((l) => l.name).join(", "),
    release,
    [Symbol.dispose]: release,
  };
}

/** What `run` says about itself in `--help`. */
const RUN_DESCRIPTION =
  "run the daemon: health-check the local API server, elect a holder by VRRP, hold and announce the VIP";

/** Registers `run`. */
export function installRun(program: Command, ctx: CommandContext): void {
  addConfigOptions(program.command("run").description(RUN_DESCRIPTION))
    .action((opts) =>
      runCommand(ctx, () => ctx.load(opts), ctx.reloader(opts))
    );
}

/** How `run` re-reads its configuration on SIGHUP (none without a file). */
export type Reloader = ReturnType<CommandContext["reloader"]>;

/**
 * `run` once its flags are read, by commander ({@link installRun}) or by
 * the field table alone (the start-up path, `_run_flags.ts`): loads the
 * configuration with `load`, takes the instance lock, hardens the process
 * and runs the daemon, setting the exit status through `ctx`.
 */
export async function runCommand(
  ctx: Pick<CommandContext, "io" | "setStatus">,
  load: () => Promise<LoadedConfig>,
  reloader: Reloader,
): Promise<void> {
  const loaded = await load();
  const { config } = loaded;
  // SIGHUP may change the level of every logger at once.
  const level = { level: config.observe.log_level };
  const log = createLogger({
    format: config.observe.log_format,
    levelRef: level,
  });
  for (const w of loaded.warnings) log.warn(w);
  using lock = takeLock(config, log);
  const hardening = lock && await harden(config, log);
  if (!hardening) {
    ctx.setStatus(EXIT.failure);
    return;
  }
  const { stopDumps, onRunning } = hardening;
  raisePriority(config, log);
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
    const exit = startFailure(err, loaded, log, ctx);
    if (exit) throw exit;
  } finally {
    stopDumps();
  }
}

/**
 * A failure found only at start (no such interface, port in use): usage
 * errors like those check finds, worded the same way, never a stack trace;
 * the rest is logged (exit 1). Returns what to throw (`undefined`: nothing).
 */
function startFailure(
  err: unknown,
  loaded: LoadedConfig,
  log: Logger,
  ctx: Pick<CommandContext, "setStatus">,
): CliExit | undefined {
  const issues = err instanceof ConfigError
    ? err.issues
    : err instanceof ListenError
    ? [{ path: "observe.metrics_address", message: err.message }]
    : undefined;
  if (issues) {
    return new CliExit(
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
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
  }
  ctx.setStatus(1);
  return undefined;
}

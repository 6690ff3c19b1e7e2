/**
 * SIGUSR1: a state dump, never a debugger.
 *
 * Deno (2.9.2 and later) starts the V8 inspector on 127.0.0.1:9229 when the
 * process receives SIGUSR1, 500 ms after start; a JS signal listener does
 * not prevent it, and no flag or environment variable turns it off. Whoever
 * reaches that port runs code in the daemon: as root, from any local user or
 * hostNetwork pod. keepalived's operators send SIGUSR1 to dump state by
 * habit.
 *
 * How the signal is taken away from the runtime:
 * 1. A JS listener makes Deno's signal registry install its one process-wide
 *    handler for SIGUSR1 now; the registry installs a handler once per signal,
 *    so when the inspector trigger registers later it calls `sigaction` no
 *    more.
 * 2. `sigaction` then replaces that handler with libc's `alarm`: SIGUSR1 runs
 *    `alarm(10)` (the handler receives the signal number), which is
 *    async-signal-safe, cannot fail (errno untouched) and arms the process's
 *    real-time timer. Deno's handler, and so the inspector trigger, never
 *    runs again.
 * 3. SIGALRM is ignored, so an alarm nobody collected ends nothing.
 * 4. {@link watchStateDumps} polls the timer (`getitimer`) every second: an
 *    armed timer is a dump request. The same poll checks that SIGUSR1 still
 *    has ha-vip's handler and takes it back (with a warning) if anything
 *    replaced it.
 *
 * This depends on nothing but the process's signal disposition, so it holds
 * for `deno run`, a `deno bundle` output and a `deno compile`d binary alike
 * (same runtime crates); the self-check above and the seccomp filter of
 * {@link denyNewListeners} (no new listening socket once the daemon's own
 * are up) cover a runtime that behaves differently.
 *
 * @module
 */

import type { Logger } from "../observe/mod.ts";
import {
  alarmPending,
  cancelAlarm,
  isDumpable,
  libcFunctionAddress,
  noNewPrivs,
  SA_ONSTACK,
  SA_RESTART,
  setSignalAction,
  SIG_DFL,
  SIG_IGN,
  Signal,
  signalAction,
} from "../sys/mod.ts";

/**
 * How often a dump request and the SIGUSR1 handler are checked. Each check
 * wakes an otherwise sleeping daemon (issue 12: idle CPU), so once a
 * second: a dump is asked for by hand and comes within a second; a handler
 * the runtime took back is retaken as soon, and the seccomp filter of
 * {@link denyNewListeners} keeps a debugger port shut meanwhile.
 */
export const DUMP_POLL_MS = 1000;

interface TakeoverState {
  /** Address of libc's `alarm`: SIGUSR1's handler while ha-vip holds it. */
  handler: bigint;
  /** The runtime had a SIGUSR1 handler before ha-vip: its trigger was armed. */
  armedBefore: boolean;
  /** Times the handler had to be taken back. */
  retaken: number;
}

let takeover: TakeoverState | undefined;
let provider: (() => unknown) | undefined;
let listenFilter = false;

function install(handler: bigint): void {
  setSignalAction(Signal.SIGUSR1, handler, SA_RESTART | SA_ONSTACK);
}

/**
 * Takes SIGUSR1 away from the runtime (see the module documentation).
 * Idempotent. Throws when libc cannot be reached (no `--allow-ffi`).
 */
export function takeOverSigusr1(): { armedBefore: boolean } {
  if (takeover) return { armedBefore: takeover.armedBefore };
  const handler = libcFunctionAddress("alarm");
  const before = signalAction(Signal.SIGUSR1).handler;
  // Step 1: the registry's handler goes in now, not at the inspector's turn.
  Deno.addSignalListener("SIGUSR1", () => {});
  setSignalAction(Signal.SIGALRM, SIG_IGN);
  install(handler);
  if (signalAction(Signal.SIGUSR1).handler !== handler) {
    throw new Error("SIGUSR1 kept another handler after sigaction");
  }
  takeover = { handler, armedBefore: before !== SIG_DFL, retaken: 0 };
  return { armedBefore: takeover.armedBefore };
}

/** Whether SIGUSR1 is ha-vip's (taken over and still in place). */
export function sigusr1Held(): boolean {
  return takeover !== undefined &&
    signalAction(Signal.SIGUSR1).handler === takeover.handler;
}

/** Records that the listen() filter is in place (for the dump). */
export function noteListenFilter(): void {
  listenFilter = true;
}

/**
 * Sets the status-document provider the dump shows (the daemon's
 * `/status` document). Returns a function that removes it again.
 */
export function provideStateDump(status: () => unknown): () => void {
  provider = status;
  return () => {
    if (provider === status) provider = undefined;
  };
}

/**
 * A nested document as flat `a.b.c` keys with scalar values, so a dump is
 * one line that `grep` and log pipelines can take apart. Arrays stay JSON.
 */
export function flattenForLog(
  doc: unknown,
  prefix = "",
  out: Record<string, unknown> = {},
): Record<string, unknown> {
  if (doc !== null && typeof doc === "object" && !Array.isArray(doc)) {
    for (const [k, v] of Object.entries(doc)) {
      flattenForLog(v, prefix ? `${prefix}.${k}` : k, out);
    }
  } else if (doc !== undefined) {
    out[prefix || "value"] = doc;
  }
  return out;
}

/** What the process itself contributes to a dump. */
function processFacts(): Record<string, unknown> {
  return {
    pid: Deno.pid,
    sigusr1: sigusr1Held()
      ? "state dump (debugger trigger disabled)"
      : "NOT held",
    dumpable: isDumpable(),
    no_new_privs: noNewPrivs(),
    listen_filter: listenFilter,
  };
}

/** Logs one state dump: the provider's document and the process facts. */
export function logStateDump(log: Logger, reason = "SIGUSR1"): void {
  let doc: unknown;
  try {
    doc = provider ? provider() : { state: "starting" };
  } catch (err) {
    doc = { error: err instanceof Error ? err.message : String(err) };
  }
  log.info(
    `state dump (${reason})`,
    flattenForLog({ ...(doc as object), process: processFacts() }),
  );
}

/**
 * Serves dump requests (SIGUSR1) with {@link logStateDump} until the
 * returned function is called, and keeps SIGUSR1 ha-vip's. Needs
 * {@link takeOverSigusr1} first. The timer does not keep the process alive.
 */
export function watchStateDumps(log: Logger): () => void {
  const state = takeover;
  if (!state) throw new Error("watchStateDumps: SIGUSR1 was not taken over");
  const timer = setInterval(() => {
    try {
      if (signalAction(Signal.SIGUSR1).handler !== state.handler) {
        install(state.handler);
        state.retaken++;
        log.warn(
          "SIGUSR1's handler was replaced (by the runtime?); took it back so that SIGUSR1 never opens a debugger",
          { times: state.retaken },
        );
      }
      if (alarmPending()) {
        cancelAlarm();
        logStateDump(log);
      }
    } catch (err) {
      log.error("cannot check for SIGUSR1 dump requests", {
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }, DUMP_POLL_MS);
  Deno.unrefTimer(timer);
  return () => clearInterval(timer);
}

/**
 * Closes a V8 inspector server that is already open: needed only when the
 * runtime's SIGUSR1 trigger was armed before ha-vip took the signal over
 * (a start-up slower than 500 ms) and a SIGUSR1 came in between. Returns
 * the URL it closed, or `undefined`.
 */
export async function closeOpenInspector(): Promise<string | undefined> {
  const inspector = await import("node:inspector");
  const url = inspector.url();
  if (url === undefined) return undefined;
  inspector.close();
  return url;
}

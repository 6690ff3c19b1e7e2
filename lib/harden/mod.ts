/**
 * Hardening of the ha-vip process against local attackers and operator
 * habits:
 *
 * - SIGUSR1 never opens a debugger port; it logs a one-line state dump
 *   (keepalived's convention). See {@link takeOverSigusr1}.
 * - The process is not dumpable: no core dump holds the token, and another
 *   process of the same user cannot ptrace it or read its memory.
 * - Once the daemon's own listeners are up, `listen()` fails in every thread
 *   ({@link denyNewListeners}): whatever starts later cannot open a port.
 *
 * ```ts
 * hardenProcess();                          // first thing in main
 * const stop = watchStateDumps(log);        // ha-vip run
 * const remove = provideStateDump(() => status);  // the daemon
 * denyNewListeners();                       // once it listens
 * ```
 *
 * @module
 */

import {
  denySyscallsFilter,
  installSeccompFilter,
  nativeSeccompArch,
  setDumpable,
} from "../sys/mod.ts";
import { noteListenFilter, takeOverSigusr1 } from "./_debug_signal.ts";

export {
  closeOpenInspector,
  DUMP_POLL_MS,
  flattenForLog,
  logStateDump,
  provideStateDump,
  sigusr1Held,
  takeOverSigusr1,
  watchStateDumps,
} from "./_debug_signal.ts";

/** What {@link hardenProcess} did. */
export interface Hardening {
  /**
   * The runtime's SIGUSR1 debugger trigger was armed before ha-vip took the
   * signal (start-up slower than its 500 ms grace period): an inspector may
   * already be open, see `closeOpenInspector`.
   */
  armedBefore: boolean;
}

let entryPoint = false;

/**
 * Takes SIGUSR1 over and marks the process non-dumpable. Idempotent; call it
 * as early as possible. `entryPoint: true` (main.ts only) records that the
 * process is ha-vip itself, not a program or test that imports it: only then
 * may process-wide restrictions such as {@link denyNewListeners} be applied.
 * Throws when it cannot (no `--allow-ffi`, no libc).
 */
export function hardenProcess(
  options: { entryPoint?: boolean } = {},
): Hardening {
  const { armedBefore } = takeOverSigusr1();
  setDumpable(false);
  entryPoint ||= options.entryPoint === true;
  return { armedBefore };
}

/** Whether main.ts hardened this process as ha-vip's own entry point. */
export function ownsProcess(): boolean {
  return entryPoint;
}

/**
 * Makes `listen()` fail with EPERM in every thread of the process from now
 * on (seccomp, TSYNC; no_new_privs is set on the way, harmless for a program
 * that never executes another). Defence in depth behind the SIGUSR1
 * takeover: a debugger server started by any path cannot listen. Call it
 * once the daemon's own listeners are up; changing the metrics address
 * then needs a restart. Returns why it could not, or `undefined`.
 */
export function denyNewListeners(): string | undefined {
  const arch = nativeSeccompArch();
  if (!arch) {
    return `no seccomp filter for ${Deno.build.os}/${Deno.build.arch}`;
  }
  try {
    installSeccompFilter(arch, denySyscallsFilter(arch, [arch.listenNr]));
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  noteListenFilter();
  return undefined;
}

/**
 * Signals, in one place: what makes the daemon leave. The OS source
 * listens to SIGTERM and SIGINT; a test passes its own source. Other
 * signals (SIGHUP reload, SIGUSR1 state dump) plug in here as more names.
 *
 * @module
 */

/** Where the daemon hears signals from. */
export interface SignalSource {
  /** Calls `handler` with the signal's name until disposed. */
  subscribe(handler: (name: string) => void): Disposable;
}

/** The signals that end the daemon: the first hands over, a second forces. */
export const SHUTDOWN_SIGNALS = ["SIGTERM", "SIGINT"] as const;

/** The process's own signals (`Deno.addSignalListener`). */
export function osSignals(
  names: readonly Deno.Signal[] = SHUTDOWN_SIGNALS,
): SignalSource {
  return {
    subscribe(handler) {
      const listeners = names.map((name) => {
        const listener = () => handler(name);
        Deno.addSignalListener(name, listener);
        return [name, listener] as const;
      });
      return {
        [Symbol.dispose]() {
          for (const [name, l] of listeners) {
            Deno.removeSignalListener(name, l);
          }
        },
      };
    },
  };
}

/** An `AbortSignal` as a source: its abort is the signal `"abort"`. */
export function abortSignals(signal: AbortSignal): SignalSource {
  return {
    subscribe(handler) {
      const listener = () => handler("abort");
      signal.addEventListener("abort", listener, { once: true });
      return {
        [Symbol.dispose]: () => signal.removeEventListener("abort", listener),
      };
    },
  };
}

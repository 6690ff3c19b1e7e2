/**
 * The logger this concern needs: `lib/observe`'s, without `with` (callers
 * may pass any object with the four level methods, tests a capturing one).
 */
import {
  type LogFields,
  type Logger as ObserveLogger,
  silentLogger,
} from "../observe/mod.ts";

export type { LogFields };

/** A structured logger: one message and optional fields per line. */
export type Logger = Omit<ObserveLogger, "with">;

/** A logger that drops everything (the default when none is given). */
export const nullLogger: Logger = silentLogger;

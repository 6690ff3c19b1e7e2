/**
 * The logger this concern needs: `lib/observe`'s, without `with` (callers
 * may pass any object with the four level methods, tests a capturing one).
 */
import { type LogFields, silentLogger } from "../observe/mod.ts";

export type { LogFields };

/** A structured logger: one message and optional fields per line. */
export interface Logger {
  /** Detail for debugging. */
  debug(msg: string, fields?: LogFields): void;
  /** A normal event. */
  info(msg: string, fields?: LogFields): void;
  /** Something an operator should look at. */
  warn(msg: string, fields?: LogFields): void;
  /** A failure. */
  error(msg: string, fields?: LogFields): void;
}

/** A logger that drops everything (the default when none is given). */
export const nullLogger: Logger = silentLogger;

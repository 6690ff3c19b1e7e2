/**
 * The minimal logger this concern needs. `lib/observe`'s logger satisfies it;
 * keeping the interface here avoids a dependency on the observe concern.
 */

/** Extra key/value context of a log line. Never put a token in it. */
export type LogFields = Record<string, unknown>;

/** A structured logger: one message and optional fields per line. */
export interface Logger {
  /** Detail for debugging (per request / probe). */
  debug(msg: string, fields?: LogFields): void;
  /** Normal events (state changes). */
  info(msg: string, fields?: LogFields): void;
  /** Something needs attention. */
  warn(msg: string, fields?: LogFields): void;
  /** Something failed. */
  error(msg: string, fields?: LogFields): void;
}

/** A logger that drops everything (the default when none is given). */
export const nullLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

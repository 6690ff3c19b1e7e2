/**
 * What the subcommands share with the program: exit statuses, the I/O they
 * write to, and the context their installers get. (Its own file, so that
 * `mod.ts` imports the subcommands and nothing imports `mod.ts` back.)
 *
 * @module
 */
import {
  type ConfigError,
  formatIssue,
  type LoadedConfig,
} from "../config/mod.ts";

/** Exit statuses. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** What the commands write to; tests capture it. */
export interface CliIo {
  /** Writes to standard output. */
  out(text: string): void;
  /** Writes to standard error. */
  err(text: string): void;
  /** The environment (`HA_VIP_*` is read from it). */
  env: Record<string, string>;
}

/** Thrown by commands to end with a given exit status after a message. */
export class CliExit extends Error {
  /** `status` is the exit status; `message` is printed to stderr. */
  constructor(readonly status: number, message = "") {
    super(message);
  }
}

/** What command installers get. */
export interface CommandContext {
  io: CliIo;
  load(
    opts: Record<string, unknown>,
    requireVip?: boolean,
  ): Promise<LoadedConfig>;
  /** Set by an action to the exit status. */
  setStatus(status: number): void;
  /**
   * The same sources read again (SIGHUP): the file in use and a re-read
   * that rejects with the ConfigError itself; undefined when no file is in
   * use.
   */
  reloader(opts: Record<string, unknown>):
    | { file: string; reload: () => Promise<LoadedConfig> }
    | undefined;
}

/** The text of a usage error for an invalid configuration, one issue a line. */
export function invalidConfiguration(e: ConfigError): string {
  return `ha-vip: invalid configuration:\n${
    e.issues.map((i) => "  " + formatIssue(i)).join("\n")
  }\n`;
}

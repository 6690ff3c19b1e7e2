/**
 * `ha-vip handoff`: ask the running daemon, over its local control channel
 * (`control.socket`), to hand the VIP over to another node now —
 * make-before-break — and to stay out of the election for a while.
 *
 * @module
 */
import type { Command } from "commander";
import { parseDuration } from "../config/mod.ts";
import {
  ControlClientError,
  type ControlRequest,
  controlRequest,
  MAX_HANDOFF_MS,
} from "../control/mod.ts";
import { CliExit, type CommandContext, EXIT } from "./_context.ts";
import { addConfigOptions } from "./_options.ts";

/**
 * How long the command waits for the daemon's answer: the daemon answers
 * a handoff once the VIP has moved, within 60 s.
 */
const ANSWER_TIMEOUT_MS = 70_000;

function duration(flag: string, text: string, max: number): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms < 1000 || ms > max) {
    throw new CliExit(
      EXIT.usage,
      `ha-vip handoff: ${flag} ${
        JSON.stringify(text)
      } is not a duration from 1s to ${
        Math.floor(max / 86_400_000)
      } days; use e.g. 10m or 1h`,
    );
  }
  return ms;
}

function request(opts: Record<string, unknown>): ControlRequest {
  if (opts.cancel && opts.for !== undefined) {
    throw new CliExit(
      EXIT.usage,
      "ha-vip handoff: --cancel and --for do not go together; --cancel ends a handoff",
    );
  }
  if (opts.cancel) return { op: "cancel" };
  if (opts.status) return { op: "status" };
  const forMs = opts.for === undefined
    ? null
    : duration("--for", String(opts.for), MAX_HANDOFF_MS);
  return { op: "handoff", forMs };
}

/** Registers `handoff`. */
export function installHandoff(program: Command, ctx: CommandContext): void {
  addConfigOptions(
    program.command("handoff")
      .description(
        "hand the VIP over to another node now (make-before-break: no client gap) and keep this node out " +
          "of the election for --for, or until --cancel or a restart; talks to the running daemon over " +
          "control.socket (root or ha-vip's user). Exit 0 done, 1 not done (nobody took over, no daemon)",
      )
      .option(
        "--for <duration>",
        "stay out of the election this long, e.g. 10m",
      )
      .option(
        "--cancel",
        "end a handoff in force: take part in the election again",
      )
      .option("--status", "only say whether a handoff is in force"),
  ).action(async (opts) => {
    const req = request(opts);
    const { config } = await ctx.load(opts, false);
    const path = config.control.socket;
    if (path === "off") {
      throw new CliExit(
        EXIT.usage,
        "ha-vip handoff: control.socket is off; the daemon has no control channel to ask",
      );
    }
    try {
      const answer = await controlRequest(path, req, {
        timeoutMs: ANSWER_TIMEOUT_MS,
      });
      (answer.ok ? ctx.io.out : ctx.io.err)(
        `ha-vip handoff: ${answer.message}\n`,
      );
      ctx.setStatus(answer.ok ? EXIT.ok : EXIT.failure);
    } catch (err) {
      if (err instanceof ControlClientError) {
        throw new CliExit(EXIT.failure, `ha-vip handoff: ${err.message}`);
      }
      throw err;
    }
  });
}

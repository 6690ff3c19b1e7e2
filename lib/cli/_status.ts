/** `ha-vip status`: ask a running daemon (its /status endpoint) what it is doing. */
import type { Command } from "commander";
import type { StatusDocument } from "../daemon/mod.ts";
import { parseHostPort } from "../observe/mod.ts";
import { CliExit, type CommandContext, EXIT } from "./_context.ts";
import { addConfigOptions } from "./_options.ts";

/** The one-screen summary of a /status document. */
export function renderStatus(s: StatusDocument): string {
  const e = s.election;
  const h = s.health;
  const detail = "verdict" in h && h.verdict
    ? ` (${h.verdict}: ${h.detail})`
    : "";
  const lines = [
    `node:      ${s.node}`,
    `vip:       ${s.vip} on ${s.interface}: ${
      s.holding ? "HELD by this node" : "not held here"
    }`,
    `election:  ${e.summary}` +
    (e.eligible === false ? ` (not eligible: ${e.ineligible_reason})` : ""),
    `health:    ${h.status}${detail}`,
    ...(s.handoff
      ? [
        `handoff:   out of the election ${
          s.handoff.until ? `until ${s.handoff.until}` : "until cancelled"
        } (asked by ${s.handoff.by} at ${s.handoff.since})`,
      ]
      : []),
    `uptime:    ${s.uptime_s}s`,
  ];
  return lines.join("\n") + "\n";
}

/** Registers `status`. */
export function installStatus(program: Command, ctx: CommandContext): void {
  addConfigOptions(
    program.command("status")
      .description(
        "show what the running daemon is doing (needs its observe.metrics_address); exit 1 if unreachable",
      )
      .option("--json", "print the raw /status document"),
  ).action(async (opts) => {
    const { config } = await ctx.load(opts, false);
    const address = config.observe.metrics_address;
    if (!address) {
      throw new CliExit(
        EXIT.usage,
        "ha-vip status: observe.metrics_address is not set; pass the daemon's --metrics-address (e.g. 127.0.0.1:9480)",
      );
    }
    const { hostname, port } = parseHostPort(address);
    const host = hostname === "0.0.0.0"
      ? "127.0.0.1"
      : hostname.includes(":")
      ? `[${hostname}]`
      : hostname;
    let doc: StatusDocument;
    try {
      const res = await fetch(`http://${host}:${port}/status`, {
        signal: AbortSignal.timeout(3000),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      doc = await res.json() as StatusDocument;
    } catch (err) {
      throw new CliExit(
        EXIT.failure,
        `ha-vip status: no daemon answers at ${address}: ${
          err instanceof Error ? err.message : err
        }`,
      );
    }
    ctx.io.out(
      opts.json ? JSON.stringify(doc, null, 2) + "\n" : renderStatus(doc),
    );
  });
}

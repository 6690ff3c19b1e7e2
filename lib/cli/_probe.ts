/** `ha-vip probe`: one health check, stage by stage. */
import type { Command } from "commander";
import { probeOptionsFromConfig } from "../daemon/mod.ts";
import { createLogger } from "../observe/mod.ts";
import { probeOnce, type ProbeResult } from "../health/mod.ts";
import { CliExit, type CommandContext, EXIT } from "./_context.ts";
import { addConfigOptions } from "./_options.ts";

function ms(n: number): string {
  return `${n < 10 ? n.toFixed(1) : Math.round(n)} ms`;
}

/** The human report of one probe. */
export function renderProbe(
  target: string,
  intro: string,
  r: ProbeResult,
): string {
  const lines = [`probe ${target} (${intro})`];
  const url = new URL(target);
  const hostPort = `${url.hostname}:${
    url.port || (url.protocol === "https:" ? 443 : 80)
  }`;
  lines.push(
    `  1. tcp     connect ${hostPort.padEnd(22)} ${
      r.tcp.ok ? "ok" : `FAILED: ${r.tcp.verdict?.kind}`
    } (${ms(r.tcp.ms)})`,
  );
  if (!r.tcp.ok && r.tcp.verdict) {
    lines.push(`              ${r.tcp.verdict.detail}`);
  }
  if (r.readyz) {
    const status = r.readyz.status === undefined
      ? "no response"
      : `HTTP ${r.readyz.status}`;
    lines.push(
      `  2. readyz  GET ${
        r.readyz.path.padEnd(26)
      } ${r.readyz.verdict.kind} (${status}, ${ms(r.readyz.ms)})`,
    );
    lines.push(`              ${r.readyz.verdict.detail}`);
  } else {
    lines.push(`  2. readyz  skipped: the TCP stage failed`);
  }
  lines.push(`verdict: ${r.verdict.kind}`);
  return lines.join("\n") + "\n";
}

/** Registers `probe`. */
export function installProbe(program: Command, ctx: CommandContext): void {
  addConfigOptions(
    program.command("probe").description(
      "check the local API server once (TCP, then /readyz) and print each stage; exit 0 if ready, 1 if not",
    ),
  ).action(async (opts) => {
    const { config, warnings } = await ctx.load(opts, false);
    for (const w of warnings) ctx.io.err(`warning: ${w}\n`);
    const log = createLogger({
      level: "warn",
      sink: (l) => ctx.io.err(l + "\n"),
    });
    // The token and CA reads are bounded like the probe (a FIFO or a hung
    // mount must not hang `ha-vip probe`); a bad file is a usage error.
    const reading = new AbortController();
    const timer = setTimeout(() => reading.abort(), config.health.timeout);
    let options;
    try {
      options = await probeOptionsFromConfig(
        config,
        log,
        ctx.io.env,
        reading.signal,
      );
    } catch (err) {
      if (reading.signal.aborted) {
        ctx.io.out(
          `probe ${config.health.url}: reading the token or CA file did not finish within ${config.health.timeout} ms (health.timeout): is it on a hung mount?\nverdict: timeout\n`,
        );
        ctx.setStatus(EXIT.failure);
        return;
      }
      throw new CliExit(
        EXIT.usage,
        `ha-vip probe: ${err instanceof Error ? err.message : err}`,
      );
    } finally {
      clearTimeout(timer);
    }
    const intro = [
      options.insecureSkipTlsVerify
        ? "TLS NOT verified"
        : `verify name "${options.tlsServerName}"`,
      options.caCertFile ? `CA ${options.caCertFile}` : "system CAs",
      `token: ${options.tokenSource?.description ?? "none"}`,
    ].join(", ");
    const result = await probeOnce(options);
    ctx.io.out(renderProbe(options.url, intro, result));
    ctx.setStatus(result.verdict.kind === "ready" ? EXIT.ok : EXIT.failure);
  });
}

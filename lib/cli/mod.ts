/**
 * The `ha-vip` command line. {@link main} returns the exit status: 0 success,
 * 1 a runtime failure (a kernel error, an unready API server for `probe`),
 * 2 a usage error (bad flags or configuration).
 *
 * @module
 */
import { Command, CommanderError } from "commander";
import { VERSION as BUILD_VERSION, versionText } from "../build/mod.ts";
import {
  ConfigError,
  formatIssue,
  loadConfig,
  type LoadedConfig,
} from "../config/mod.ts";
import { renderCheck } from "./check.ts";
import { addConfigOptions, flagValues } from "./options.ts";
import { installManifest } from "./manifest.ts";
import { installProbe } from "./probe.ts";
import { installRun } from "./run.ts";
import { installStatus } from "./status.ts";
import { installVip } from "./vip.ts";

/** The ha-vip version (from deno.json). */
export const VERSION: string = BUILD_VERSION;

/** Exit statuses. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** What the commands write to; tests capture it. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string>;
}

const encoder = new TextEncoder();
const defaultIo: CliIo = {
  out: (t) => Deno.stdout.writeSync(encoder.encode(t)),
  err: (t) => Deno.stderr.writeSync(encoder.encode(t)),
  env: {},
};

/** Thrown by commands to end with a given exit status after a message. */
export class CliExit extends Error {
  constructor(readonly status: number, message = "") {
    super(message);
  }
}

async function load(
  opts: Record<string, unknown>,
  io: CliIo,
  requireVip = true,
): Promise<LoadedConfig> {
  try {
    return await loadConfig({
      file: opts.config as string | undefined,
      env: io.env,
      flags: flagValues(opts),
      requireVip,
    });
  } catch (e) {
    if (e instanceof ConfigError) {
      throw new CliExit(EXIT.usage, invalidConfiguration(e));
    }
    throw e;
  }
}

/** The text of a usage error for an invalid configuration, one issue a line. */
export function invalidConfiguration(e: ConfigError): string {
  return `ha-vip: invalid configuration:\n${
    e.issues.map((i) => "  " + formatIssue(i)).join("\n")
  }\n`;
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
}

/** Runs the CLI with `args` (without the program name); resolves to the exit status. */
export async function main(
  args: string[],
  io: CliIo = { ...defaultIo, env: Deno.env.toObject() },
): Promise<number> {
  let status: number = EXIT.ok;
  const ctx: CommandContext = {
    io,
    load: (opts, requireVip) => load(opts, io, requireVip),
    setStatus: (s) => status = s,
  };
  const program = new Command("ha-vip")
    .description(
      "A floating virtual IP for Kubernetes control planes: health -> election -> announce.",
    )
    .version(versionText().trimEnd(), "-V, --version", "print the version")
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride()
    .showHelpAfterError("(run with --help for the list of flags)");

  program.command("version").description(
    "print the version, the commit of the release build and the Deno runtime",
  ).action(() => io.out(versionText()));

  addConfigOptions(
    program.command("check")
      .description(
        "validate the configuration and print it as applied (secrets redacted); exit 2 on errors",
      )
      .option("--json", "print JSON instead of YAML"),
  ).action(async (opts) => {
    const loaded = await load(opts, io);
    for (const w of loaded.warnings) io.err(`warning: ${w}\n`);
    io.out(renderCheck(loaded, Boolean(opts.json)));
  });

  for (
    const install of [
      installRun,
      installProbe,
      installVip,
      installStatus,
      installManifest,
    ]
  ) {
    install(program, ctx);
  }

  try {
    await program.parseAsync(args, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version end the program with exit code 0; the rest are usage errors.
      return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (e instanceof CliExit) {
      if (e.message) {
        io.err(e.message.endsWith("\n") ? e.message : e.message + "\n");
      }
      return e.status;
    }
    throw e;
  }
  return status;
}

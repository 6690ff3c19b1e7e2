/**
 * The `ha-vip` command line. {@link main} returns the exit status: 0 success,
 * 1 a runtime failure (a kernel error, an unready API server for `probe`),
 * 2 a usage error (bad flags or configuration).
 *
 * @module
 */
import type { Command } from "commander";
import { VERSION as BUILD_VERSION, versionText } from "../build/mod.ts";
import { ConfigError, loadConfig, type LoadedConfig } from "../config/mod.ts";
import { checkAgainstInterface } from "./_interface.ts";
import {
  CliExit,
  type CliIo,
  type CommandContext,
  EXIT,
  invalidConfiguration,
} from "./_context.ts";
import { addConfigOptions, flagValues } from "./_options.ts";
import { installProbe } from "./_probe.ts";
import { installRun, type Reloader, runCommand } from "./_run.ts";
import { parseRunFlags, type RunFlags } from "./_run_flags.ts";
import { installStatus } from "./_status.ts";
export { renderStatus } from "./_status.ts";

export { type CliIo, EXIT } from "./_context.ts";

/** The ha-vip version (from deno.json). */
export const VERSION: string = BUILD_VERSION;

const encoder = new TextEncoder();
const defaultIo: CliIo = {
  out: (t) => Deno.stdout.writeSync(encoder.encode(t)),
  err: (t) => Deno.stderr.writeSync(encoder.encode(t)),
  env: {},
};

/** The file the configuration comes from: `--config`, else `HA_VIP_CONFIG`. */
function configFile(file: string | undefined, io: CliIo): string | undefined {
  return file ??
    (io.env.HA_VIP_CONFIG?.trim() ? io.env.HA_VIP_CONFIG : undefined);
}

function loadSources(
  io: CliIo,
  file: string | undefined,
  flags: Record<string, unknown>,
  requireVip = true,
): Promise<LoadedConfig> {
  return loadConfig({ file, env: io.env, flags, requireVip });
}

async function loadFrom(
  io: CliIo,
  file: string | undefined,
  flags: Record<string, unknown>,
  requireVip = true,
): Promise<LoadedConfig> {
  try {
    return await loadSources(io, file, flags, requireVip);
  } catch (e) {
    if (e instanceof ConfigError) {
      throw new CliExit(EXIT.usage, invalidConfiguration(e));
    }
    throw e;
  }
}

/** SIGHUP's re-read: the same sources again (none without a file). */
function reloaderFor(
  io: CliIo,
  file: string | undefined,
  flags: Record<string, unknown>,
): Reloader {
  const path = configFile(file, io);
  return path === undefined
    ? undefined
    : { file: path, reload: () => loadSources(io, file, flags) };
}

/** Runs the CLI with `args` (without the program name); resolves to the exit status. */
export async function main(
  args: string[],
  io: CliIo = { ...defaultIo, env: Deno.env.toObject() },
): Promise<number> {
  // The daemon's start-up path: plain `run` flags are read by the field
  // table, and neither commander nor the other commands are ever loaded
  // (issue 12: memory); anything else goes to the full command line.
  const runFlags = args[0] === "run" ? parseRunFlags(args.slice(1)) : undefined;
  if (runFlags) return await runFromFlags(runFlags, io);
  let status: number = EXIT.ok;
  const setStatus = (s: number) => status = s;
  const { Command, CommanderError } = await import("commander");
  const [
    { renderCheck },
    { installManifest },
    { installVip },
    { installHandoff },
  ] = await Promise.all([
    import("./_check.ts"),
    import("./_manifest.ts"),
    import("./_vip.ts"),
    import("./_handoff.ts"),
  ]);
  const ctx: CommandContext = {
    io,
    load: (opts, requireVip) =>
      loadFrom(
        io,
        opts.config as string | undefined,
        flagValues(opts),
        requireVip,
      ),
    setStatus,
    reloader: (opts) =>
      reloaderFor(io, opts.config as string | undefined, flagValues(opts)),
  };
  const program: Command = new Command("ha-vip")
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
    const loaded = await ctx.load(opts);
    for (const w of loaded.warnings) io.err(`warning: ${w}\n`);
    const here = await checkAgainstInterface(loaded);
    if (here.error) {
      throw new CliExit(EXIT.usage, invalidConfiguration(here.error));
    }
    if (here.warning) io.err(`warning: ${here.warning}\n`);
    io.out(renderCheck(loaded, Boolean(opts.json)));
  });

  for (
    const install of [
      installRun,
      installProbe,
      installVip,
      installStatus,
      installHandoff,
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
    return exitStatus(e, io);
  }
  return status;
}

/** `run` with flags read by the field table (no commander). */
async function runFromFlags(f: RunFlags, io: CliIo): Promise<number> {
  let status: number = EXIT.ok;
  try {
    await runCommand(
      { io, setStatus: (s) => status = s },
      () => loadFrom(io, f.config, f.flags),
      reloaderFor(io, f.config, f.flags),
    );
  } catch (e) {
    return exitStatus(e, io);
  }
  return status;
}

/** The exit status of a {@link CliExit} (its message printed); rethrows anything else. */
function exitStatus(e: unknown, io: CliIo): number {
  if (!(e instanceof CliExit)) throw e;
  if (e.message) {
    io.err(e.message.endsWith("\n") ? e.message : e.message + "\n");
  }
  return e.status;
}

/**
 * The `ha-vip` command line. {@link main} returns the exit status: 0 success,
 * 1 a runtime failure (a kernel error, an unready API server for `probe`),
 * 2 a usage error (bad flags or configuration).
 *
 * @module
 */
import { Command, CommanderError } from "commander";
import { VERSION as BUILD_VERSION, versionText } from "../build/mod.ts";
import { ConfigError, loadConfig, type LoadedConfig } from "../config/mod.ts";
import { renderCheck } from "./_check.ts";
import { checkAgainstInterface } from "./_interface.ts";
import {
  CliExit,
  type CliIo,
  type CommandContext,
  EXIT,
  invalidConfiguration,
} from "./_context.ts";
import { addConfigOptions, flagValues } from "./_options.ts";
import { installManifest } from "./_manifest.ts";
import { installProbe } from "./_probe.ts";
import { installRun } from "./_run.ts";
import { installStatus } from "./_status.ts";
export { renderStatus } from "./_status.ts";
import { installVip } from "./_vip.ts";

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
function configFile(
  opts: Record<string, unknown>,
  io: CliIo,
): string | undefined {
  return (opts.config as string | undefined) ??
    (io.env.HA_VIP_CONFIG?.trim() ? io.env.HA_VIP_CONFIG : undefined);
}

function loadSources(
  opts: Record<string, unknown>,
  io: CliIo,
  requireVip = true,
): Promise<LoadedConfig> {
  return loadConfig({
    file: opts.config as string | undefined,
    env: io.env,
    flags: flagValues(opts),
    requireVip,
  });
}

async function load(
  opts: Record<string, unknown>,
  io: CliIo,
  requireVip = true,
): Promise<LoadedConfig> {
  try {
    return await loadSources(opts, io, requireVip);
  } catch (e) {
    if (e instanceof ConfigError) {
      throw new CliExit(EXIT.usage, invalidConfiguration(e));
    }
    throw e;
  }
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
    reloader: (opts) => {
      const file = configFile(opts, io);
      return file === undefined
        ? undefined
        : { file, reload: () => loadSources(opts, io) };
    },
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

/** `ha-vip manifest <kind>`: deployment files from the same flags as `run`. */
import { Argument, type Command, Option } from "commander";
import {
  MANIFEST_KINDS,
  ManifestError,
  type ManifestKind,
  renderManifest,
} from "../manifest/mod.ts";
import { CliExit, type CommandContext, EXIT } from "./_context.ts";
import { addConfigOptions } from "./_options.ts";

/** Registers `manifest`. */
export function installManifest(program: Command, ctx: CommandContext): void {
  addConfigOptions(
    program.command("manifest")
      .description(
        "print a deployment file for this configuration: static-pod, daemonset, rbac, systemd, cloud-init or config",
      )
      .addArgument(
        new Argument("<kind>", "what to generate").choices(MANIFEST_KINDS),
      )
      .addOption(
        new Option(
          "--image <ref>",
          "container image (static-pod, daemonset); default: this version's",
        ),
      )
      .addOption(
        new Option(
          "--install-url <url>",
          "release mirror for cloud-init (HA_VIP_INSTALL_URL of install.sh); default: the project's releases",
        ),
      ),
  ).action(async (kind: ManifestKind, opts) => {
    const loaded = await ctx.load(opts, kind !== "rbac");
    for (const w of loaded.warnings) ctx.io.err(`warning: ${w}\n`);
    try {
      ctx.io.out(renderManifest(kind, loaded, {
        image: opts.image,
        installUrl: opts.installUrl,
      }));
    } catch (e) {
      if (e instanceof ManifestError) {
        throw new CliExit(
          EXIT.usage,
          `ha-vip: cannot generate ${kind}:\n${
            e.issues.map((i) =>
              "  " + (i.path ? `${i.path}: ${i.message}` : i.message)
            ).join("\n")
          }\n`,
        );
      }
      throw e;
    }
  });
}

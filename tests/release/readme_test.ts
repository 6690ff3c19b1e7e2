/**
 * The README's Install section: every command block is one an operator can
 * paste. Each `ha-vip manifest` line runs and succeeds, the one-liners'
 * flags pass `ha-vip check`, the URLs and asset names are the release's, and
 * every installer override is documented in both places.
 */
import assert from "node:assert/strict";
import { REPOSITORY, VERSION } from "../../lib/build/mod.ts";
import { assetNames } from "../../release/mod.ts";
import { runCli } from "../../testing/mod.ts";

const root = new URL("../../", import.meta.url).pathname;
const readme = await Deno.readTextFile(`${root}README.md`);
const install = readme.slice(
  readme.indexOf("\n## Install\n"),
  readme.indexOf("\n## Quick start"),
);
const blocks = [...install.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
const lines = blocks.flatMap((b) => b.split("\n").filter((l) => l.trim()));

/** The flags of a command line: the words after `marker`, up to a pipe. */
function flagsAfter(line: string, marker: string): string[] {
  const rest = line.slice(line.indexOf(marker) + marker.length);
  return rest.split("|")[0].split(">")[0].trim().split(/\s+/);
}

Deno.test("Install comes first and the quick start keeps the two developer commands", () => {
  assert.ok(readme.indexOf("## Install") < readme.indexOf("## Quick start"));
  assert.ok(readme.indexOf("## Install") < readme.indexOf("## Running it"));
  const quick = readme.slice(readme.indexOf("## Quick start"));
  assert.match(quick, /sudo deno task lab/);
  assert.match(quick, /sudo deno task test/);
  for (const h of ["### cloud-init", "### Static pod", "### DaemonSet"]) {
    assert.ok(install.includes(h), h);
  }
  assert.match(install, /\*\*Air-gapped\.\*\*/);
  assert.match(install, /\*\*Upgrade\.\*\*/);
  assert.match(install, /\*\*Uninstall\.\*\*/);
});

Deno.test("every `ha-vip manifest` line in Install runs", async () => {
  const manifests = lines.filter((l) => l.startsWith("ha-vip manifest"));
  assert.ok(manifests.length >= 4, manifests.join("\n"));
  for (const l of manifests) {
    const r = await runCli(flagsAfter(l, "ha-vip "));
    assert.equal(r.status, 0, `${l}: ${r.err}`);
  }
  const pod = manifests.find((l) => l.includes("static-pod"))!;
  assert.match(pod, /\| sudo tee \/etc\/kubernetes\/manifests\/ha-vip\.yaml$/);
  const vip = flagsAfter(pod, "static-pod")[1].split("/")[0];
  assert.ok(
    lines.some((l) =>
      l.includes(`kubeadm init --control-plane-endpoint ${vip}:6443`)
    ),
  );
});

Deno.test("the one-liner and the air-gapped line: the release's URL and asset, flags ha-vip accepts", async () => {
  const oneLiner = lines.find((l) => l.startsWith("curl "))!;
  assert.ok(
    oneLiner.startsWith(
      `curl -sfL https://github.com/${REPOSITORY}/releases/latest/download/install.sh | sudo sh -s - `,
    ),
    oneLiner,
  );
  const gapped = lines.find((l) => l.includes("HA_VIP_INSTALL_ARTIFACT"))!;
  assert.ok(gapped.includes(assetNames(VERSION).binary("x86_64")), gapped);
  for (
    const [line, marker] of [[oneLiner, "sh -s -"], [gapped, "sh install.sh"]]
  ) {
    const r = await runCli(["check", ...flagsAfter(line, marker)]);
    assert.equal(r.status, 0, `${line}: ${r.err}`);
  }
});

Deno.test("every installer override is documented at the top of install.sh and in the README", async () => {
  const script = await Deno.readTextFile(`${root}install.sh`);
  const header = script.slice(0, script.indexOf("\nha_vip_install() {"));
  const used = new Set(script.match(/HA_VIP_(?:VERSION|INSTALL_[A-Z_]+)/g));
  const options = new Set(
    [...script.matchAll(/^\s+(--[a-z-]+)(?:=\*)?\)/gm)].map((m) => m[1]),
  );
  assert.ok(used.size >= 4 && options.has("--dry-run"));
  for (const name of [...used, ...options]) {
    if (name === "--token-file") continue; // a flag it refuses with --token
    assert.ok(header.includes(name), `install.sh header lacks ${name}`);
    assert.ok(install.includes(name), `README Install lacks ${name}`);
  }
});

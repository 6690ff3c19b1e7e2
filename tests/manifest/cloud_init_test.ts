/**
 * The cloud-config: valid for Debian's `cloud-init schema`, and it runs the
 * installer of this very version with exactly the flags it was given.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { INSTALL_SCRIPT_URL, VERSION } from "../../lib/build/mod.ts";
import { shellQuote } from "../../lib/manifest/mod.ts";
import { runCli, skipUnlessInstalled } from "../../testing/mod.ts";

const FLAGS = [
  "--vip",
  "192.168.1.100/24",
  "--interface",
  "eth0",
  "--priority",
  "150",
  "--tls-server-name",
  "api server's name",
];

const noCloudInit = skipUnlessInstalled("cloud-init schema tests", [
  "cloud-init",
]);

async function schema(text: string) {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/user-data`, text);
    const r = await new Deno.Command("cloud-init", {
      args: ["schema", "--config-file", `${dir}/user-data`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function cloudConfig(flags: string[]): Promise<string> {
  const r = await runCli(["manifest", "cloud-init", ...flags]);
  assert.equal(r.status, 0, r.err);
  return r.out;
}

Deno.test({
  name: "cloud-init schema accepts the cloud-config (and rejects a broken one)",
  ignore: noCloudInit,
  fn: async () => {
    const text = await cloudConfig(FLAGS);
    assert.ok(text.startsWith("#cloud-config\n"));
    const ok = await schema(text);
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /Valid cloud-config/);
    const bad = await schema(text.replace("runcmd:", "runcmd: 42\nx_runcmd:"));
    assert.notEqual(bad.code, 0, bad.out);
  },
});

Deno.test("the cloud-config runs this version's installer with the flags, quoted for sh", async () => {
  const doc = parse(await cloudConfig(FLAGS));
  assert.equal(doc.runcmd.length, 1);
  const cmd: string = doc.runcmd[0];
  assert.ok(cmd.includes(INSTALL_SCRIPT_URL), cmd);
  assert.ok(
    cmd.includes(`HA_VIP_VERSION=${VERSION} sh /run/ha-vip-install.sh`),
  );
  // A failed download fails the command instead of running an empty script.
  assert.match(
    cmd,
    /^curl -sfL --retry 5 -o \/run\/ha-vip-install\.sh \S+ && /,
  );
  const after = cmd.slice(
    cmd.indexOf("/run/ha-vip-install.sh --") + "/run/ha-vip-install.sh".length,
  );
  const r = await new Deno.Command("sh", {
    args: ["-c", `for a in ${after}; do printf '%s\\n' "$a"; done`],
    stdout: "piped",
  }).output();
  assert.deepEqual(
    new TextDecoder().decode(r.stdout).trimEnd().split("\n"),
    [...FLAGS, "--ca-cert", "/etc/kubernetes/pki/ca.crt"],
  );
});

Deno.test("shellQuote survives every character sh treats specially", async () => {
  const words = [
    "plain",
    "a b",
    "it's",
    "$HOME",
    "`x`",
    "a\\b",
    '"q"',
    "*",
    "",
  ];
  const r = await new Deno.Command("sh", {
    args: [
      "-c",
      `for a in ${
        words.map(shellQuote).join(" ")
      }; do printf '[%s]' "$a"; done`,
    ],
    stdout: "piped",
  }).output();
  assert.equal(
    new TextDecoder().decode(r.stdout),
    words.map((w) => `[${w}]`).join(""),
  );
});

Deno.test("a mirror must be https", async () => {
  const r = await runCli([
    "manifest",
    "cloud-init",
    ...FLAGS.slice(0, 4),
    "--install-url",
    "http://mirror.example/ha-vip",
  ]);
  assert.equal(r.status, 2);
  assert.match(r.err, /is not an https:\/\/ URL/);
});

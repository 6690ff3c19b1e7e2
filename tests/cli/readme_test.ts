/**
 * What README.md says about the command line, checked against the program:
 * the command table, the default VIP lifetime, what each example does, and
 * every signal.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { autoVipLifetime } from "../../lib/config/mod.ts";
import { runCli } from "../../testing/mod.ts";

const README = await Deno.readTextFile(
  new URL("../../README.md", import.meta.url),
);

/** The command names a `--help` text lists under "Commands:". */
function commandsIn(help: string): string[] {
  const section = help.split(/^Commands:$/m)[1] ?? "";
  return [...section.matchAll(/^ {2}(\w+)/gm)].map((m) => m[1])
    .filter((c) => c !== "help");
}

/** The README's command table rows (`| \`ha-vip ...\` | ... | ... |`). */
function commandRows(): string[] {
  return README.split("\n").filter((l) => l.startsWith("| `ha-vip "));
}

Deno.test("README's command table has a row for every command and vip subcommand", async () => {
  const top = commandsIn((await runCli(["--help"])).out);
  assert.ok(top.includes("run") && top.includes("status"), top.join(" "));
  const rows = commandRows();
  for (const c of top) {
    assert.ok(
      rows.some((r) => r.startsWith(`| \`ha-vip ${c}`)),
      `no row for ha-vip ${c}`,
    );
  }
  for (const sub of commandsIn((await runCli(["vip", "--help"])).out)) {
    assert.ok(
      rows.some((r) =>
        new RegExp(`^\\| \`ha-vip vip [^\`]*\\b${sub}\\b`).test(r)
      ),
      `no row for ha-vip vip ${sub}`,
    );
  }
});

Deno.test("README gives run's exit statuses for start-up failures", () => {
  const run = commandRows().find((r) => r.startsWith("| `ha-vip run"))!;
  const status = run.split("|").at(-2)!;
  assert.match(status, /\b0 after a clean shutdown/);
  assert.match(status, /\b1 when it cannot start/);
  assert.match(status, /\b2 on bad configuration/);
  assert.match(README, /an interface that does not exist/);
});

Deno.test("README states the default VIP lifetime the code computes", () => {
  const m = /`announce\.vip_lifetime`[^)]*?(\d+) s at 1 s adverts/.exec(README);
  assert.ok(m, "README names the default lifetime at 1 s adverts");
  assert.equal(Number(m[1]) * 1000, autoVipLifetime(1000));
});

Deno.test("README describes each example with the election mode the file uses", async () => {
  const lines = README.split("\n");
  for (const name of ["minimal.yaml", "external.yaml", "in-cluster.yaml"]) {
    const at = lines.findIndex((l) =>
      l.startsWith(`- [examples/${name}](examples/${name})`)
    );
    assert.ok(at >= 0, `README lists examples/${name}`);
    // The item may wrap onto the next line.
    const item = `${lines[at]} ${lines[at + 1] ?? ""}`;
    const file = parse(
      await Deno.readTextFile(
        new URL(`../../examples/${name}`, import.meta.url),
      ),
    );
    const mode = file.election?.mode ?? "vrrp";
    if (/\bLease\b/.test(item)) assert.equal(mode, "lease", item);
    if (/\bVRRP\b/.test(item)) assert.equal(mode, "vrrp", item);
  }
});

Deno.test("README's Signals section covers every signal an operator sends", () => {
  const section = README.split(/^## Signals$/m)[1]?.split(/^## /m)[0];
  assert.ok(section, "README has a ## Signals section");
  for (const sig of ["SIGTERM", "SIGINT", "SIGUSR1", "SIGHUP", "SIGUSR2"]) {
    assert.match(section, new RegExp(`^\\| [^|]*\`${sig}\``, "m"), sig);
  }
  assert.match(section, /never opens a debugger/i);
});

/** install.sh and the uninstall script it writes are POSIX sh and shellcheck-clean. */
import assert from "node:assert/strict";
import { skipUnlessInstalled } from "../../testing/mod.ts";

const installSh = new URL("../../install.sh", import.meta.url).pathname;

const ignore = skipUnlessInstalled("shellcheck tests", ["shellcheck"]);

async function shellcheck(file: string) {
  const r = await new Deno.Command("shellcheck", {
    args: ["--shell=sh", "--severity=style", file],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: r.code, out: new TextDecoder().decode(r.stdout) };
}

Deno.test({
  name: "shellcheck: install.sh and the uninstall script it writes",
  ignore,
  fn: async () => {
    const text = await Deno.readTextFile(installSh);
    const r = await shellcheck(installSh);
    assert.equal(r.code, 0, r.out);
    const start = text.indexOf("<<'UNINSTALL'\n") + "<<'UNINSTALL'\n".length;
    const uninstall = text.slice(start, text.indexOf("\nUNINSTALL\n", start));
    assert.ok(uninstall.startsWith("#!/bin/sh\n"));
    const f = await Deno.makeTempFile({ suffix: ".sh" });
    try {
      await Deno.writeTextFile(f, uninstall + "\n");
      const u = await shellcheck(f);
      assert.equal(u.code, 0, u.out);
      // And shellcheck does object to a non-POSIX construct.
      await Deno.writeTextFile(f, '#!/bin/sh\nx=(1 2)\necho "${x[0]}"\n');
      assert.notEqual((await shellcheck(f)).code, 0);
    } finally {
      await Deno.remove(f);
    }
  },
});

Deno.test("install.sh runs nothing until its last line: a truncated download does nothing", async () => {
  const text = await Deno.readTextFile(installSh);
  const lines = text.trimEnd().split("\n");
  assert.equal(lines.at(-1), 'ha_vip_install "$@"');
  // Cut anywhere before the last line: sh defines functions and exits 0
  // without output, or fails to parse; it never runs a command.
  for (const cut of [0.25, 0.5, 0.9, 0.999]) {
    const part = text.slice(0, Math.floor(text.length * cut));
    const r = await new Deno.Command("sh", {
      args: ["-s", "-", "--uninstall", "--dry-run"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = r.stdin.getWriter();
    await w.write(new TextEncoder().encode(part));
    await w.close();
    const o = await r.output();
    assert.equal(new TextDecoder().decode(o.stdout), "", `cut at ${cut}`);
  }
});

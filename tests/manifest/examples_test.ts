/**
 * examples/ is what `ha-vip manifest` prints now (regenerate with `deno task
 * examples`), and every configuration in it passes `ha-vip check`.
 */
import assert from "node:assert/strict";
import { parse, parseAllDocuments } from "yaml";
import { EXAMPLES, render } from "../../release/examples.ts";
import { runCli } from "../../testing/mod.ts";

const dir = new URL("../../examples/", import.meta.url).pathname;

Deno.test("every generated example equals the current `ha-vip manifest` output", async () => {
  const stale: string[] = [];
  for (const e of EXAMPLES) {
    const now = await render(e.args);
    const file = await Deno.readTextFile(dir + e.file).catch(() => "");
    if (file !== now) stale.push(e.file);
  }
  assert.deepEqual(stale, [], "stale examples: run `deno task examples`");
});

Deno.test("the seed guide's config files and the 3-node set are there and pass ha-vip check", async () => {
  for (
    const name of [
      "config.yaml",
      "config-external.yaml",
      "config-in-cluster.yaml",
    ]
  ) {
    const r = await runCli(["check", "--config", dir + name]);
    assert.equal(r.status, 0, `${name}: ${r.err}`);
  }
  for (const node of ["cp-1", "cp-2", "cp-3"]) {
    // The static pod's arguments and the cloud-config's flags are ha-vip's.
    const [pod] = parseAllDocuments(
      await Deno.readTextFile(`${dir}kubernetes/static-pod-${node}.yaml`),
    ).map((d) => d.toJS());
    const args: string[] = pod.spec.containers[0].args;
    const r = await runCli(["check", ...args.slice(1)]);
    assert.equal(r.status, 0, `${node}: ${r.err}`);
    const cc = parse(await Deno.readTextFile(`${dir}cloud-init/${node}.yaml`));
    assert.match(cc.runcmd[0], /install\.sh --vip 192\.168\.1\.100\/24/);
  }
  const priorities = [];
  for (const node of ["cp-1", "cp-2", "cp-3"]) {
    const [pod] = parseAllDocuments(
      await Deno.readTextFile(`${dir}kubernetes/static-pod-${node}.yaml`),
    ).map((d) => d.toJS());
    const a: string[] = pod.spec.containers[0].args;
    priorities.push(a[a.indexOf("--priority") + 1]);
  }
  assert.deepEqual(priorities, ["150", "100", "50"]);
});

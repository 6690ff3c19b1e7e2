/**
 * The configuration loader in the shipped shape: a minified bundle renames
 * the YAML library's classes, so anything that tests a node's type by its
 * constructor name breaks there (and only there).
 */
import assert from "node:assert/strict";
import { bundleMain, runBinary } from "../../testing/mod.ts";

const examples = new URL("../../examples/", import.meta.url).pathname;

Deno.test("a minified bundle checks every example and reports file errors like the source does", async () => {
  const bundle = await bundleMain({ minify: true });
  for (const name of ["minimal.yaml", "external.yaml", "in-cluster.yaml"]) {
    const r = await runBinary(
      ["check", "--config", examples + name],
      {},
      bundle,
    );
    assert.equal(r.status, 0, `${name}: ${r.err}`);
    assert.match(r.out, /^vip: 192\.168\.1\.100\/24$/m, name);
  }
  const path = await Deno.makeTempFile({ suffix: ".yaml" });
  try {
    await Deno.writeTextFile(
      path,
      "vip: &v 10.0.0.100/24\ninterface: *v\nhealth: fast\n",
    );
    const r = await runBinary(["check", "--config", path], {}, bundle);
    assert.equal(r.status, 2, r.out);
    assert.match(r.err, /interface: uses the YAML alias \*v/);
    assert.match(r.err, /health: must be a mapping of fields/);
  } finally {
    await Deno.remove(path);
  }
});

import assert from "node:assert/strict";
import { FIELDS, renderReference, updateReadme } from "../../lib/config/mod.ts";

Deno.test("README's configuration reference matches the schema (run `deno task docs`)", async () => {
  const readme = await Deno.readTextFile(
    new URL("../../README.md", import.meta.url),
  );
  assert.equal(
    readme,
    updateReadme(readme),
    "README.md is stale: run `deno task docs`",
  );
  const table = renderReference();
  for (const f of FIELDS) assert.ok(table.includes(`\`${f.path}\``), f.path);
});

import assert from "node:assert/strict";
import {
  defaultBackends,
  ElectionStartError,
  vrrpBackend,
} from "../../lib/election/mod.ts";

Deno.test("the default backends: vrrp only, by its mode; opening nothing until create", () => {
  const backends = defaultBackends();
  assert.deepEqual(Object.keys(backends), ["vrrp"]);
  assert.equal(backends.vrrp?.mode, "vrrp");
  assert.equal(backends.lease, undefined, "lease comes with issue 10");
  assert.equal(vrrpBackend().mode, "vrrp");
});

Deno.test("ElectionStartError keeps its message and cause", () => {
  const cause = new Error("EPERM");
  const e = new ElectionStartError("cannot open the VRRP socket", { cause });
  assert.equal(e.name, "ElectionStartError");
  assert.equal(e.cause, cause);
});

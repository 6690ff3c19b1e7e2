import assert from "node:assert/strict";
import {
  defaultBackends,
  ElectionStartError,
  leaseBackend,
  vrrpBackend,
} from "../../lib/election/mod.ts";

Deno.test("the default backends: vrrp and lease, by their mode; opening nothing until create", () => {
  const backends = defaultBackends();
  assert.deepEqual(Object.keys(backends), ["vrrp", "lease"]);
  assert.equal(backends.vrrp?.mode, "vrrp");
  assert.equal(backends.lease?.mode, "lease");
  assert.equal(vrrpBackend().mode, "vrrp");
  assert.equal(leaseBackend().mode, "lease");
});

Deno.test("ElectionStartError keeps its message and cause", () => {
  const cause = new Error("EPERM");
  const e = new ElectionStartError("cannot open the VRRP socket", { cause });
  assert.equal(e.name, "ElectionStartError");
  assert.equal(e.cause, cause);
});

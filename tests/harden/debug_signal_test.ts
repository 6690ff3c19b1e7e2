import assert from "node:assert/strict";
import { flattenForLog } from "../../lib/harden/mod.ts";

Deno.test("a status document flattens to dotted keys for one log line", () => {
  assert.deepEqual(
    flattenForLog({
      node: "cp-1",
      holding: true,
      election: { state: "master", priority: 150, peers: ["a", "b"] },
      health: { status: "ready", verdict: undefined },
    }),
    {
      node: "cp-1",
      holding: true,
      "election.state": "master",
      "election.priority": 150,
      "election.peers": ["a", "b"],
      "health.status": "ready",
    },
  );
  assert.deepEqual(flattenForLog(3), { value: 3 });
  assert.deepEqual(flattenForLog(null), { value: null });
});

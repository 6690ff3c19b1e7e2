import assert from "node:assert/strict";
import { openControlServer } from "../../lib/control/mod.ts";
import { runCli } from "../../testing/mod.ts";

Deno.test("handoff: bad flags are usage errors (exit 2)", async () => {
  for (
    const [args, why] of [
      [["--for", "10m", "--cancel"], /--cancel and --for do not go together/],
      [["--for", "ten minutes"], /--for "ten minutes" is not a duration/],
      [["--for", "100ms"], /from 1s to 24 days/],
      [["--control-socket", "off"], /control.socket is off/],
      [["--control-socket", "relative.sock"], /is not an absolute path/],
    ] as const
  ) {
    const r = await runCli(["handoff", ...args]);
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.err}`);
    assert.match(r.err, why);
  }
});

Deno.test("handoff: no daemon at the socket is exit 1 with what to check", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await runCli([
      "handoff",
      "--control-socket",
      `${dir}/none.sock`,
    ]);
    assert.equal(r.status, 1);
    assert.match(
      r.err,
      /cannot reach ha-vip at .*none.sock: no such socket: is ha-vip running/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("handoff: the request and the daemon's answer (exit 0 done, 1 not done)", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/c.sock`;
  const seen: unknown[] = [];
  let ok = true;
  const server = await openControlServer({
    path,
    handle: (request) => {
      seen.push(request);
      return Promise.resolve({
        ok,
        message: ok ? "moved" : "nobody took over",
      });
    },
  });
  try {
    let r = await runCli(["handoff", "--for", "15m", "--control-socket", path]);
    assert.equal(r.status, 0, r.err);
    assert.equal(r.out, "ha-vip handoff: moved\n");
    r = await runCli(["handoff", "--cancel"], { HA_VIP_CONTROL_SOCKET: path });
    assert.equal(r.status, 0, r.err);
    ok = false;
    r = await runCli(["handoff", "--control-socket", path]);
    assert.equal(r.status, 1);
    assert.equal(r.err, "ha-vip handoff: nobody took over\n");
    assert.deepEqual(seen, [
      { op: "handoff", forMs: 900_000 },
      { op: "cancel" },
      { op: "handoff", forMs: null },
    ]);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

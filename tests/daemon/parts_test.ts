/** The daemon's small parts on their own: link tracking, teardown, signals. */
import assert from "node:assert/strict";
import type { VipHolder } from "../../lib/announce/mod.ts";
import { type TrackedLink, trackLink } from "../../lib/daemon/_link_watcher.ts";
import { PartStack } from "../../lib/daemon/_parts.ts";
import { osSignals } from "../../lib/daemon/mod.ts";
import { releaseIfHeld } from "../../lib/daemon/_vip.ts";
import type { Link } from "../../lib/netlink/mod.ts";
import { createLogger } from "../../lib/observe/mod.ts";

function link(index: number, up = true, carrier = true): Link {
  return {
    index,
    name: "eth0",
    mac: "02:00:00:00:00:01",
    hardwareAddress: new Uint8Array(6),
    mtu: 1500,
    up,
    carrier,
    operState: up && carrier ? "up" : "down",
    flags: 0,
    type: 1,
  };
}

const UP: TrackedLink = { index: 2, up: true, reason: "", link: link(2) };

Deno.test("trackLink: down and why, gone, and recreated only once the new one is up", () => {
  const down = trackLink(UP, link(2, true, false), "");
  assert.deepEqual([down.state.up, down.state.reason, down.changed], [
    false,
    "no carrier",
    true,
  ]);
  const admin = trackLink(down.tracked, link(2, false, false), "");
  assert.deepEqual([admin.state.reason, admin.changed], [
    "administratively down",
    true,
  ]);
  const gone = trackLink(admin.tracked, null, "gone: no interface eth0");
  assert.deepEqual([gone.state.reason, gone.changed], [
    "gone: no interface eth0",
    true,
  ]);
  const again = trackLink(gone.tracked, null, "gone: no interface eth0");
  assert.equal(again.changed, false, "the same news twice is no news");
  const created = trackLink(again.tracked, link(5, false, false), "");
  assert.equal(
    created.state.recreatedFrom,
    undefined,
    "not up yet: not taken over",
  );
  assert.equal(created.tracked.index, 2);
  const recreated = trackLink(created.tracked, link(5), "");
  assert.deepEqual(
    [
      recreated.state.up,
      recreated.state.recreatedFrom,
      recreated.tracked.index,
      recreated.changed,
    ],
    [true, 2, 5, true],
  );
  const same = trackLink(recreated.tracked, link(5), "");
  assert.equal(same.changed, false);
  assert.equal(same.state.recreatedFrom, undefined);
});

Deno.test("PartStack: teardown runs last-first, and one failing step stops no other", async () => {
  const lines: string[] = [];
  const order: string[] = [];
  {
    await using stack = new PartStack(
      createLogger({ level: "debug", sink: (l) => lines.push(l) }),
    );
    stack.use({ [Symbol.dispose]: () => void order.push("sync part") });
    stack.defer(() => {
      throw new Error("server would not stop");
    });
    stack.use({
      [Symbol.asyncDispose]: () =>
        Promise.resolve(void order.push("async part")),
    });
  }
  assert.deepEqual(order, ["async part", "sync part"]);
  assert.ok(
    lines.some((l) => /cleanup failed .*server would not stop/.test(l)),
    lines.join("\n"),
  );
});

Deno.test("releaseIfHeld removes a VIP still held, and says so when even that fails", async () => {
  const lines: string[] = [];
  const log = createLogger({ sink: (l) => lines.push(l) });
  let released = 0;
  const holder = (held: boolean, fail = false) =>
    ({
      held,
      description: "10.0.0.100/24 on eth0",
      release: () => {
        released++;
        return fail ? Promise.reject(new Error("EPERM")) : Promise.resolve();
      },
    }) as unknown as VipHolder;
  await releaseIfHeld(holder(false), log);
  assert.equal(released, 0, "nothing held, nothing touched");
  await releaseIfHeld(holder(true), log);
  assert.match(lines.at(-1)!, /VIP removed during shutdown/);
  await releaseIfHeld(holder(true, true), log);
  assert.match(
    lines.at(-1)!,
    /cannot remove the VIP; it expires by its valid lifetime .*EPERM/,
  );
  assert.equal(released, 2);
});

Deno.test("osSignals delivers the process's signals by name until disposed", async () => {
  const got: string[] = [];
  // SIGWINCH: harmless when nobody listens (never SIGUSR1: it opens Deno's inspector).
  const sub = osSignals(["SIGWINCH"]).subscribe((name) => got.push(name));
  Deno.kill(Deno.pid, "SIGWINCH");
  for (let i = 0; i < 100 && got.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  sub[Symbol.dispose]();
  assert.deepEqual(got, ["SIGWINCH"]);
});

/**
 * A caller-managed VIP lifetime (lease mode's fenced one) reaches the
 * kernel as the whole seconds asked for, even though the clock moves on
 * between the caller's reading and the write (a netlink round trip). Until
 * that was so, every such write gave one second less than asked: the Lease
 * machine believed its VIP lived a second longer than the kernel let it.
 */
import assert from "node:assert/strict";
import { VipHolder } from "../../lib/announce/mod.ts";
import type { Clock } from "../../lib/clock/mod.ts";
import { parseCidr } from "../../lib/ip/mod.ts";
import { FENCING_ASSUMPTIONS } from "../../lib/lease/mod.ts";
import type { Address, AddressOps } from "../../lib/netlink/mod.ts";

/** A clock that moves `stepMs` on every reading (no timers needed here). */
function tickingClock(stepMs: number): Clock {
  let t = 1000;
  return {
    now: () => (t += stepMs),
    sleep: () => Promise.resolve(),
    timeout: () => ({ [Symbol.dispose]() {} }),
    interval: () => ({ [Symbol.dispose]() {} }),
  };
}

function holder(stepMs: number, written: number[]): VipHolder {
  const route: AddressOps = {
    listAddresses: () => Promise.resolve([] as Address[]),
    replaceAddress: (o) => {
      written.push(o.validLft!);
      return Promise.resolve();
    },
    deleteAddress: () => Promise.resolve(true),
    promoteSecondaries: () => Promise.resolve(true),
    setPromoteSecondaries: () => Promise.resolve(),
  };
  return new VipHolder({
    vip: parseCidr("10.62.0.100/24"),
    link: { index: 2, name: "eth0", mac: "02:00:00:00:00:01" },
    route,
    lifetimeS: 10,
    burstCount: 0,
    burstIntervalMs: 0,
    reannounceEveryMs: 0,
    clock: tickingClock(stepMs),
    openAnnouncer: () => ({
      kind: "test",
      announce() {},
      close: () => Promise.resolve(),
      [Symbol.asyncDispose]: () => Promise.resolve(),
    }),
  });
}

Deno.test("managed lifetime: claim and setLifetime write the seconds asked for, despite the clock moving on", async () => {
  const written: number[] = [];
  const h = holder(7, written);
  await h.claim({ lifetimeS: 3 });
  await h.setLifetime(3);
  await h.setLifetime(12);
  assert.deepEqual(written, [3, 3, 12]);
});

Deno.test("managed lifetime: a write that comes too late for the whole seconds gives fewer, never more", async () => {
  const written: number[] = [];
  // Just beyond the scheduling slack lease mode's fencing bound allows.
  const h = holder(FENCING_ASSUMPTIONS.schedulingSlackMs + 1, written);
  await h.claim({ lifetimeS: 3 });
  await h.setLifetime(3);
  for (const l of written) assert.ok(l < 3, `${written}`);
});

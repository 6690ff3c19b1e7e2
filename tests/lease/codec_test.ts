import assert from "node:assert/strict";
import {
  decodeLease,
  encodeLease,
  type Lease,
  LeaseDecodeError,
  sameRecord,
} from "../../lib/lease/mod.ts";
import { prng } from "../vrrp/_support.ts";

// What `kubectl get lease -n kube-system plndr-cp-lock -o json` prints for a
// Lease held by kube-vip (client-go writes it), trimmed of nothing.
const KUBE_VIP_LEASE = {
  apiVersion: "coordination.k8s.io/v1",
  kind: "Lease",
  metadata: {
    creationTimestamp: "2026-11-30T11:02:13Z",
    name: "plndr-cp-lock",
    namespace: "kube-system",
    resourceVersion: "48213",
    uid: "5b0f3c52-6c2e-4a57-9a55-0d2f4f6a3b11",
    managedFields: [{ manager: "kube-vip", operation: "Update" }],
  },
  spec: {
    acquireTime: "2026-11-30T11:02:13.512004Z", // six digits: µs
    holderIdentity: "cp-2",
    leaseDurationSeconds: 15,
    leaseTransitions: 3,
    renewTime: "2026-11-30T12:00:00.123456Z",
  },
};
const NOON = 1796040000_000000; // 2026-11-30T12:00:00Z in µs

function expectField(body: unknown, field: string, pattern?: RegExp) {
  assert.throws(() => decodeLease(body), (err: unknown) => {
    assert.ok(err instanceof LeaseDecodeError, String(err));
    assert.equal(err.field, field);
    assert.ok(err.message.startsWith(field || "the body"), err.message);
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

function mutate(
  path: string,
  value: unknown,
  base: unknown = KUBE_VIP_LEASE,
): Record<string, unknown> {
  const copy = structuredClone(base) as Record<string, unknown>;
  const keys = path.split(".");
  // deno-lint-ignore no-explicit-any
  let node: any = copy;
  for (const k of keys.slice(0, -1)) node = node[k];
  if (value === undefined) delete node[keys.at(-1)!];
  else node[keys.at(-1)!] = value;
  return copy;
}

Deno.test("decode: a Lease written by client-go (kube-vip)", () => {
  const l = decodeLease(KUBE_VIP_LEASE, {
    name: "plndr-cp-lock",
    namespace: "kube-system",
  });
  assert.equal(l.name, "plndr-cp-lock");
  assert.equal(l.resourceVersion, "48213");
  assert.deepEqual(l.record, {
    holderIdentity: "cp-2",
    leaseDurationSeconds: 15,
    leaseTransitions: 3,
    acquireTime: NOON - 57 * 60_000_000 - 47 * 1_000_000 + 512004,
    renewTime: NOON + 123456,
  });
  assert.equal(
    (l.metadata as { uid: string }).uid,
    KUBE_VIP_LEASE.metadata.uid,
  );
});

Deno.test("decode: absent spec fields take client-go's values", () => {
  const l = decodeLease(mutate("spec", undefined));
  assert.deepEqual(l.record, {
    holderIdentity: "",
    leaseDurationSeconds: 0,
    leaseTransitions: 0,
  });
  const m = decodeLease(
    mutate("spec", { holderIdentity: null, acquireTime: null }),
  );
  assert.deepEqual(m.record, {
    holderIdentity: "",
    leaseDurationSeconds: 0,
    leaseTransitions: 0,
  });
});

Deno.test("decode: every bad field is an error naming it", () => {
  expectField(null, "");
  expectField([], "");
  expectField(
    mutate("apiVersion", "v1"),
    "apiVersion",
    /"coordination.k8s.io\/v1"/,
  );
  expectField(mutate("kind", "ConfigMap"), "kind");
  expectField(mutate("metadata", "x"), "metadata");
  expectField(mutate("metadata.name", undefined), "metadata.name", /missing/);
  expectField(mutate("metadata.namespace", 7), "metadata.namespace");
  expectField(
    mutate("metadata.resourceVersion", ""),
    "metadata.resourceVersion",
  );
  expectField(mutate("spec", "held"), "spec");
  expectField(mutate("spec.holderIdentity", 42), "spec.holderIdentity");
  for (const bad of [0, -1, 1.5, "15", 2 ** 31, true]) {
    expectField(
      mutate("spec.leaseDurationSeconds", bad),
      "spec.leaseDurationSeconds",
      /whole number from 1/,
    );
  }
  expectField(mutate("spec.leaseTransitions", -1), "spec.leaseTransitions");
  expectField(
    mutate("spec.acquireTime", "yesterday"),
    "spec.acquireTime",
    /RFC 3339/,
  );
  expectField(
    mutate("spec.renewTime", 1796040000),
    "spec.renewTime",
    /MicroTime/,
  );
  assert.throws(
    () =>
      decodeLease(KUBE_VIP_LEASE, { name: "ha-vip", namespace: "kube-system" }),
    /expected the Lease kube-system\/ha-vip/,
  );
});

Deno.test("fuzz: mangled Lease bodies decode or fail with a LeaseDecodeError, nothing else", () => {
  const rand = prng(3);
  const values = [
    null,
    0,
    -1,
    1.5,
    "",
    "x",
    "2026-11-30T12:00:00Z",
    [],
    {},
    true,
    2 ** 40,
    undefined,
  ];
  const paths = [
    "apiVersion",
    "kind",
    "metadata",
    "metadata.name",
    "metadata.namespace",
    "metadata.resourceVersion",
    "spec",
    "spec.holderIdentity",
    "spec.leaseDurationSeconds",
    "spec.leaseTransitions",
    "spec.acquireTime",
    "spec.renewTime",
  ];
  for (let i = 0; i < 3000; i++) {
    let body: unknown = structuredClone(KUBE_VIP_LEASE);
    for (let k = 0; k < 1 + Math.floor(rand() * 3); k++) {
      const path = paths[Math.floor(rand() * paths.length)];
      try {
        body = mutate(path, values[Math.floor(rand() * values.length)], body);
      } catch {
        // a parent was replaced by a non-object: keep the body as it is
      }
    }
    try {
      const l = decodeLease(body);
      assert.equal(typeof l.record.holderIdentity, "string");
      assert.ok(Number.isInteger(l.record.leaseDurationSeconds));
    } catch (err) {
      assert.ok(err instanceof LeaseDecodeError, String(err));
    }
  }
});

Deno.test("encode: create carries no resourceVersion; update keeps the base's metadata", () => {
  const record = {
    holderIdentity: "cp-1",
    leaseDurationSeconds: 15,
    acquireTime: NOON + 1,
    renewTime: NOON + 123456,
    leaseTransitions: 4,
  };
  const target = { name: "ha-vip", namespace: "kube-system" };
  assert.deepEqual(encodeLease(target, record), {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: "ha-vip", namespace: "kube-system" },
    spec: {
      holderIdentity: "cp-1",
      leaseDurationSeconds: 15,
      acquireTime: "2026-11-30T12:00:00.000001Z",
      renewTime: "2026-11-30T12:00:00.123456Z",
      leaseTransitions: 4,
    },
  });
  const base: Lease = decodeLease({
    ...KUBE_VIP_LEASE,
    metadata: {
      ...KUBE_VIP_LEASE.metadata,
      name: "ha-vip",
      labels: { team: "infra" },
    },
  });
  const body = encodeLease(target, { ...record, holderIdentity: "" }, base) as {
    metadata: Record<string, unknown>;
    spec: Record<string, unknown>;
  };
  assert.equal(body.metadata.resourceVersion, "48213");
  assert.deepEqual(body.metadata.labels, { team: "infra" });
  assert.equal(body.spec.holderIdentity, "");
  // A record without times writes none.
  const bare = encodeLease(target, {
    holderIdentity: "",
    leaseDurationSeconds: 1,
    leaseTransitions: 0,
  }) as {
    spec: Record<string, unknown>;
  };
  assert.deepEqual(Object.keys(bare.spec), [
    "holderIdentity",
    "leaseDurationSeconds",
    "leaseTransitions",
  ]);
});

Deno.test("sameRecord compares every field of the record", () => {
  const a = decodeLease(KUBE_VIP_LEASE).record;
  assert.ok(sameRecord(a, { ...a }));
  for (const k of Object.keys(a) as (keyof typeof a)[]) {
    const b = {
      ...a,
      [k]: typeof a[k] === "string" ? "other" : (a[k] as number) + 1,
    };
    assert.ok(!sameRecord(a, b), k);
  }
});

/**
 * The `coordination.k8s.io/v1` Lease object, decoded from untrusted API
 * responses with a check of every field used: bad input is a
 * {@link LeaseDecodeError} naming the field, never a crash or a silently
 * wrong value. (`metav1.Status` failures are lib/k8s's `HttpStatusError`.)
 */
import {
  formatMicroTime,
  MicroTimeError,
  parseMicroTime,
} from "./_micro_time.ts";

/** The API group/version of Leases. */
export const LEASE_API_VERSION = "coordination.k8s.io/v1";

/** The largest value of an `int32` field. */
const INT32_MAX = 2 ** 31 - 1;

/**
 * The election record in a Lease's spec, as client-go's
 * `LeaderElectionRecord`: times are µs since the epoch, `undefined` when
 * the field is absent.
 */
export interface LeaseRecord {
  /** The holder; `""` when nobody holds the lease (released or never held). */
  holderIdentity: string;
  /** How long the holder may go without renewing; 0 when absent. */
  leaseDurationSeconds: number;
  /** When the current holder acquired it (µs since the epoch). */
  acquireTime?: number;
  /** When the holder last renewed it (µs since the epoch). */
  renewTime?: number;
  /** Changes of holder so far. */
  leaseTransitions: number;
}

/**
 * The annotation an ha-vip holder puts on its release when it still holds
 * the VIP (value: `identity@leaseTransitions`): the taker must then hear
 * that VIP go (or wait out its lifetime) before adding its own. A release
 * without it (by kube-vip, or by a node that had no VIP), or with a mark
 * whose transitions are not the release's (left by an earlier holder and
 * carried along by another writer), lets the taker add the VIP once nobody
 * answers for it.
 */
export const RELEASED_WITH_VIP = "ha-vip.io/released-with-vip";

/** A decoded Lease. */
export interface Lease {
  /** `metadata.name`. */
  name: string;
  /** `metadata.namespace`. */
  namespace: string;
  /** The optimistic-concurrency token of this version. */
  resourceVersion: string;
  /** The election record. */
  record: LeaseRecord;
  /**
   * `metadata` as received, so that an update keeps labels and annotations
   * other clients set (a PUT replaces the whole object).
   */
  metadata: Readonly<Record<string, unknown>>;
  /** {@link RELEASED_WITH_VIP}'s value, if the Lease carries it. */
  releasedBy?: string;
}

/** A response that is not the expected object; `field` is the JSON path. */
export class LeaseDecodeError extends Error {
  /** The offending field, e.g. `spec.leaseDurationSeconds` (`""`: the whole body). */
  readonly field: string;

  /** An error about `field`; `message` already names it. */
  constructor(field: string, message: string) {
    super(message);
    this.name = "LeaseDecodeError";
    this.field = field;
  }
}

function show(v: unknown): string {
  const text = typeof v === "string"
    ? JSON.stringify(v)
    : String(JSON.stringify(v) ?? v);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function fail(field: string, problem: string): never {
  throw new LeaseDecodeError(field, `${field || "the body"} ${problem}`);
}

function str(o: Record<string, unknown>, key: string, path: string): string {
  const v = o[key];
  if (typeof v !== "string" || v === "") {
    fail(
      path,
      `is ${
        v === undefined ? "missing" : show(v)
      }; expected a non-empty string`,
    );
  }
  return v;
}

function int(
  v: unknown,
  path: string,
  min: number,
): number {
  if (
    typeof v !== "number" || !Number.isInteger(v) || v < min || v > INT32_MAX
  ) {
    fail(
      path,
      `is ${show(v)}; expected a whole number from ${min} to ${INT32_MAX}`,
    );
  }
  return v;
}

function time(v: unknown, path: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") {
    fail(path, `is ${show(v)}; expected a MicroTime string`);
  }
  try {
    return parseMicroTime(v);
  } catch (err) {
    if (err instanceof MicroTimeError) {
      fail(path, err.message.replace(/^"[^"]*" /, `${show(v)} `));
    }
    throw err;
  }
}

/**
 * Decodes the spec of a Lease into a {@link LeaseRecord}. Absent fields take
 * client-go's values (`""`, 0); present ones must have the right type and
 * range (the API server never stores `leaseDurationSeconds <= 0`).
 */
export function decodeLeaseSpec(spec: unknown, path = "spec"): LeaseRecord {
  if (spec === undefined || spec === null) {
    return { holderIdentity: "", leaseDurationSeconds: 0, leaseTransitions: 0 };
  }
  if (!isObject(spec)) fail(path, `is ${show(spec)}; expected an object`);
  const holder = spec.holderIdentity;
  if (holder !== undefined && holder !== null && typeof holder !== "string") {
    fail(`${path}.holderIdentity`, `is ${show(holder)}; expected a string`);
  }
  const record: LeaseRecord = {
    holderIdentity: (holder as string | null | undefined) ?? "",
    leaseDurationSeconds: spec.leaseDurationSeconds == null
      ? 0
      : int(spec.leaseDurationSeconds, `${path}.leaseDurationSeconds`, 1),
    leaseTransitions: spec.leaseTransitions == null
      ? 0
      : int(spec.leaseTransitions, `${path}.leaseTransitions`, 0),
  };
  const acquire = time(spec.acquireTime, `${path}.acquireTime`);
  const renew = time(spec.renewTime, `${path}.renewTime`);
  if (acquire !== undefined) record.acquireTime = acquire;
  if (renew !== undefined) record.renewTime = renew;
  return record;
}

/**
 * Decodes a Lease from a parsed JSON body. Throws a {@link LeaseDecodeError}
 * naming the first bad field. When `expect` is given, the name and
 * namespace must match it (a server answering with another object is a
 * bad response, not a lease to act on).
 */
export function decodeLease(
  body: unknown,
  expect?: { name: string; namespace: string },
): Lease {
  if (!isObject(body)) fail("", `is ${show(body)}; expected a Lease object`);
  if (body.apiVersion !== LEASE_API_VERSION) {
    fail(
      "apiVersion",
      `is ${show(body.apiVersion)}; expected "${LEASE_API_VERSION}"`,
    );
  }
  if (body.kind !== "Lease") {
    fail("kind", `is ${show(body.kind)}; expected "Lease"`);
  }
  const metadata = body.metadata;
  if (!isObject(metadata)) {
    fail("metadata", `is ${show(metadata)}; expected an object`);
  }
  const name = str(metadata, "name", "metadata.name");
  const namespace = str(metadata, "namespace", "metadata.namespace");
  const resourceVersion = str(
    metadata,
    "resourceVersion",
    "metadata.resourceVersion",
  );
  if (expect && (name !== expect.name || namespace !== expect.namespace)) {
    fail(
      "metadata.name",
      `is ${namespace}/${name}; expected the Lease ${expect.namespace}/${expect.name}`,
    );
  }
  const lease: Lease = {
    name,
    namespace,
    resourceVersion,
    record: decodeLeaseSpec(body.spec),
    metadata,
  };
  const annotations = metadata.annotations;
  if (annotations !== undefined && annotations !== null) {
    if (!isObject(annotations)) {
      fail(
        "metadata.annotations",
        `is ${show(annotations)}; expected an object`,
      );
    }
    const by = annotations[RELEASED_WITH_VIP];
    if (typeof by === "string" && by !== "") lease.releasedBy = by;
  }
  return lease;
}

/** The spec of a record as the API server expects it (MicroTime: six digits). */
export function encodeLeaseSpec(record: LeaseRecord): Record<string, unknown> {
  const spec: Record<string, unknown> = {
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
  };
  if (record.acquireTime !== undefined) {
    spec.acquireTime = formatMicroTime(record.acquireTime);
  }
  if (record.renewTime !== undefined) {
    spec.renewTime = formatMicroTime(record.renewTime);
  }
  spec.leaseTransitions = record.leaseTransitions;
  return spec;
}

/**
 * The body of a create (POST, `base` absent) or an update (PUT) of a
 * Lease: for an update, `base`'s metadata (with its resourceVersion, the
 * precondition) and the new spec, as client-go's LeaseLock does.
 */
export function encodeLease(
  target: { name: string; namespace: string },
  record: LeaseRecord,
  base?: Lease,
  options: { releasedBy?: string } = {},
): Record<string, unknown> {
  const metadata: Record<string, unknown> = base
    ? { ...base.metadata, name: target.name, namespace: target.namespace }
    : { name: target.name, namespace: target.namespace };
  // Our release annotation is set by a release that keeps a VIP, and
  // cleared by every other write; other annotations stay as they were.
  const annotations = {
    ...(metadata.annotations as Record<string, unknown> | undefined),
  };
  delete annotations[RELEASED_WITH_VIP];
  if (options.releasedBy) annotations[RELEASED_WITH_VIP] = options.releasedBy;
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  else delete metadata.annotations;
  return {
    apiVersion: LEASE_API_VERSION,
    kind: "Lease",
    metadata,
    spec: encodeLeaseSpec(record),
  };
}

/** Whether two records are the same observation (client-go compares the raw record). */
export function sameRecord(a: LeaseRecord, b: LeaseRecord): boolean {
  return a.holderIdentity === b.holderIdentity &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.acquireTime === b.acquireTime &&
    a.renewTime === b.renewTime &&
    a.leaseTransitions === b.leaseTransitions;
}

/**
 * `coordination.k8s.io/v1` Leases for the simulated API server, with
 * kube-apiserver's semantics as a client sees them: list, get (404),
 * create (409 AlreadyExists), update with optimistic concurrency on
 * `metadata.resourceVersion` (409 Conflict; none given: unconditional, as
 * the Lease strategy allows), merge and strategic-merge PATCH (what
 * `kubectl apply` sends), delete; validation of the body (a MicroTime with
 * other than six fractional digits is a 400 as Go's parser refuses it,
 * `leaseDurationSeconds <= 0` a 422 Invalid with its cause); per-verb
 * authorization (403 in RBAC's words); and a store that can be out of
 * reach (500 `etcdserver: request timed out`).
 *
 * The objects live in a {@link Store}, so several servers can share one
 * (one "etcd" behind every node's API server).
 *
 * ```ts
 * const store = new MemoryStore();
 * const a = await SimApiServer.start({ routes: [leaseRoutes({ store })] });
 * const b = await SimApiServer.start({ routes: [leaseRoutes({ store })] });
 * ```
 *
 * @module
 */

import { parseMicroTime } from "../lib/lease/mod.ts";
import {
  jsonResponse,
  type RouteKind,
  type RouteRegistrar,
  type RouteSet,
  statusResponse,
} from "./api_http.ts";
import {
  MemoryStore,
  type Store,
  type StoredObject,
  StoreLink,
  StoreUnavailableError,
} from "./api_store.ts";

/** A stored Lease (the fields the server manages, plus what the client sent). */
export interface Lease {
  /** Always `coordination.k8s.io/v1`. */
  apiVersion: "coordination.k8s.io/v1";
  /** Always `Lease`. */
  kind: "Lease";
  /** Name, namespace and the fields the server manages. */
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
    [k: string]: unknown;
  };
  /** The spec as the client wrote it (holderIdentity, leaseDurationSeconds, ...). */
  spec?: Record<string, unknown>;
}

/** Options of {@link leaseRoutes}. */
export interface LeaseRoutesOptions {
  /** Where Leases live (default a fresh {@link MemoryStore}). */
  store?: Store;
  /**
   * Verbs (`get`, `list`, `create`, `update`, `patch`, `delete`) per user
   * name; a user not listed may do everything its token's paths allow.
   */
  rbac?: Record<string, string[]>;
}

const GROUP = "coordination.k8s.io";
const BASE = "/apis/coordination.k8s.io/v1/namespaces/:ns/leases";
const KIND: RouteKind = { type: "resource", group: GROUP, resource: "leases" };
const DNS_SUBDOMAIN =
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function keyOf(ns: string, name: string): string {
  return `${GROUP}/leases/${ns}/${name}`;
}

function details(name: string) {
  return { name, group: GROUP, kind: "leases" };
}

function notFound(name: string): Response {
  return statusResponse(
    404,
    "NotFound",
    `leases.${GROUP} "${name}" not found`,
    details(name),
  );
}

function unavailable(): Response {
  return statusResponse(500, "InternalError", "etcdserver: request timed out", {
    causes: [{ message: "etcdserver: request timed out" }],
  });
}

function forbidden(
  user: string,
  verb: string,
  ns: string,
  name?: string,
): Response {
  return statusResponse(
    403,
    "Forbidden",
    `leases.${GROUP}${
      name ? ` "${name}"` : ""
    } is forbidden: User "${user}" cannot ${verb} resource "leases" in API group "${GROUP}" in the namespace "${ns}"`,
    { ...(name ? { name } : {}), group: GROUP, kind: "leases" },
  );
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A 400 for a body Go's decoder would refuse, or a 422 for invalid fields. */
function validate(
  body: unknown,
  name: string | undefined,
): Response | undefined {
  if (!isObject(body) || !isObject(body.metadata)) {
    return statusResponse(
      400,
      "BadRequest",
      "Object 'metadata' is missing in the body",
    );
  }
  if (body.apiVersion !== undefined && body.apiVersion !== `${GROUP}/v1`) {
    return statusResponse(
      400,
      "BadRequest",
      `the API version in the data (${body.apiVersion}) does not match the expected API version (${GROUP}/v1)`,
    );
  }
  if (body.kind !== undefined && body.kind !== "Lease") {
    return statusResponse(
      400,
      "BadRequest",
      `the kind in the data (${body.kind}) does not match the expected kind (Lease)`,
    );
  }
  const spec = body.spec;
  if (spec !== undefined && spec !== null && !isObject(spec)) {
    return statusResponse(
      400,
      "BadRequest",
      `Lease in version "v1" cannot be handled as a Lease: json: cannot unmarshal ${typeof spec} into Go struct field Lease.spec of type v1.LeaseSpec`,
    );
  }
  const causes: { reason: string; message: string; field: string }[] = [];
  const invalid = (field: string, value: unknown, why: string) =>
    causes.push({
      reason: "FieldValueInvalid",
      message: `Invalid value: ${JSON.stringify(value)}: ${why}`,
      field,
    });
  const objName = body.metadata.name;
  if (typeof objName !== "string" || objName === "") {
    causes.push({
      reason: "FieldValueRequired",
      message: "Required value: name or generateName is required",
      field: "metadata.name",
    });
  } else if (objName.length > 253 || !DNS_SUBDOMAIN.test(objName)) {
    invalid(
      "metadata.name",
      objName,
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'",
    );
  }
  if (isObject(spec)) {
    for (const f of ["acquireTime", "renewTime"]) {
      const v = spec[f];
      if (v === undefined || v === null) continue;
      if (typeof v !== "string") {
        return statusResponse(
          400,
          "BadRequest",
          `Lease in version "v1" cannot be handled as a Lease: json: cannot unmarshal ${typeof v} into Go struct field LeaseSpec.spec.${f} of type string`,
        );
      }
      try {
        parseMicroTime(v, { strict: true });
      } catch {
        return statusResponse(
          400,
          "BadRequest",
          `Lease in version "v1" cannot be handled as a Lease: parsing time ${
            JSON.stringify(v)
          } as "2006-01-02T15:04:05.000000Z07:00": cannot parse as ".000000"`,
        );
      }
    }
    const d = spec.leaseDurationSeconds;
    if (d !== undefined && d !== null) {
      if (typeof d !== "number" || !Number.isInteger(d)) {
        return statusResponse(
          400,
          "BadRequest",
          `Lease in version "v1" cannot be handled as a Lease: json: cannot unmarshal ${typeof d} into Go struct field LeaseSpec.spec.leaseDurationSeconds of type int32`,
        );
      }
      if (d <= 0) {
        invalid("spec.leaseDurationSeconds", d, "must be greater than 0");
      }
    }
    const t = spec.leaseTransitions;
    if (t !== undefined && t !== null) {
      if (typeof t !== "number" || !Number.isInteger(t)) {
        return statusResponse(
          400,
          "BadRequest",
          `Lease in version "v1" cannot be handled as a Lease: json: cannot unmarshal ${typeof t} into Go struct field LeaseSpec.spec.leaseTransitions of type int32`,
        );
      }
      if (t < 0) {
        invalid(
          "spec.leaseTransitions",
          t,
          "must be greater than or equal to 0",
        );
      }
    }
    const h = spec.holderIdentity;
    if (h !== undefined && h !== null && typeof h !== "string") {
      return statusResponse(
        400,
        "BadRequest",
        `Lease in version "v1" cannot be handled as a Lease: json: cannot unmarshal ${typeof h} into Go struct field LeaseSpec.spec.holderIdentity of type string`,
      );
    }
  }
  if (causes.length > 0) {
    const shown = typeof objName === "string" ? objName : name ?? "";
    return statusResponse(
      422,
      "Invalid",
      `Lease.${GROUP} "${shown}" is invalid: ${
        causes.map((c) => `${c.field}: ${c.message}`).join(", ")
      }`,
      { name: shown, group: GROUP, kind: "Lease", causes },
    );
  }
  return undefined;
}

async function readJson(request: Request): Promise<unknown | Response> {
  try {
    return await request.json();
  } catch {
    return statusResponse(
      400,
      "BadRequest",
      "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf",
    );
  }
}

/** RFC 7386 JSON merge patch (a strategic merge patch of a Lease is the same: no lists to merge by key). */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}

/** The Lease routes over a store (a fresh in-memory one by default). */
export function leaseRoutes(
  options: LeaseRoutesOptions = {},
): RouteSet & { store: Store } {
  const store = options.store ?? new MemoryStore();
  const may = (user: string, verb: string) => {
    const verbs = options.rbac?.[user];
    return verbs === undefined || verbs.includes(verb) || verbs.includes("*");
  };
  const guarded = async (run: () => Promise<Response>): Promise<Response> => {
    try {
      return await run();
    } catch (err) {
      if (err instanceof StoreUnavailableError) return unavailable();
      throw err;
    }
  };

  const list = (ns: string) =>
    guarded(async () => {
      const { items, resourceVersion } = await store.list(
        `${GROUP}/leases/${ns}/`,
      );
      return jsonResponse(200, {
        apiVersion: `${GROUP}/v1`,
        kind: "LeaseList",
        metadata: { resourceVersion },
        items,
      });
    });

  const create = (request: Request, ns: string) =>
    guarded(async () => {
      const body = await readJson(request);
      if (body instanceof Response) return body;
      const bad = validate(body, undefined);
      if (bad) return bad;
      const b = body as Lease;
      if (b.metadata.namespace !== undefined && b.metadata.namespace !== ns) {
        return statusResponse(
          400,
          "BadRequest",
          "the namespace of the provided object does not match the namespace sent on the request",
        );
      }
      const name = b.metadata.name;
      const { resourceVersion: _rv, ...meta } = b.metadata;
      const lease = {
        ...b,
        apiVersion: `${GROUP}/v1`,
        kind: "Lease",
        metadata: {
          ...meta,
          name,
          namespace: ns,
          uid: crypto.randomUUID(),
          creationTimestamp: now(),
        },
      } as unknown as StoredObject;
      const r = await store.create(keyOf(ns, name), lease);
      if (!r.ok) {
        return statusResponse(
          409,
          "AlreadyExists",
          `leases.${GROUP} "${name}" already exists`,
          details(name),
        );
      }
      return jsonResponse(201, r.object);
    });

  /** Replaces `name` with `next` (a full object), keeping server-managed metadata. */
  const replace = async (
    ns: string,
    name: string,
    next: Record<string, unknown>,
  ) => {
    const bad = validate(next, name);
    if (bad) return bad;
    const n = next as unknown as Lease;
    if (n.metadata.name !== name) {
      return statusResponse(
        400,
        "BadRequest",
        `the name of the object (${n.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    if (n.metadata.namespace !== undefined && n.metadata.namespace !== ns) {
      return statusResponse(
        400,
        "BadRequest",
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    }
    const key = keyOf(ns, name);
    const current = await store.get(key);
    if (!current) return notFound(name);
    const rv = n.metadata.resourceVersion;
    const ifVersion = rv === undefined || rv === "" ? undefined : String(rv);
    const { resourceVersion: _rv, ...meta } = n.metadata;
    const lease = {
      ...n,
      apiVersion: `${GROUP}/v1`,
      kind: "Lease",
      metadata: {
        ...meta,
        name,
        namespace: ns,
        uid: current.metadata.uid,
        creationTimestamp: current.metadata.creationTimestamp,
      },
    } as unknown as StoredObject;
    const r = await store.update(key, lease, ifVersion);
    if (r.ok) return jsonResponse(200, r.object);
    if (r.reason === "notFound") return notFound(name);
    return statusResponse(
      409,
      "Conflict",
      `Operation cannot be fulfilled on leases.${GROUP} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      details(name),
    );
  };

  const update = (request: Request, ns: string, name: string) =>
    guarded(async () => {
      const body = await readJson(request);
      if (body instanceof Response) return body;
      if (!isObject(body)) return validate(body, name)!;
      return await replace(ns, name, body);
    });

  const patch = (request: Request, ns: string, name: string) =>
    guarded(async () => {
      const type = (request.headers.get("content-type") ?? "").split(";")[0]
        .trim();
      if (
        type !== "application/merge-patch+json" &&
        type !== "application/strategic-merge-patch+json"
      ) {
        return statusResponse(
          415,
          "UnsupportedMediaType",
          `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/strategic-merge-patch+json`,
        );
      }
      const body = await readJson(request);
      if (body instanceof Response) return body;
      const current = await store.get(keyOf(ns, name));
      if (!current) return notFound(name);
      const merged = mergePatch(current, body) as Record<string, unknown>;
      // A patch applies to the version it read unless it names one.
      const meta = merged.metadata as Record<string, unknown>;
      if (
        !isObject(body) || !isObject(body.metadata) ||
        body.metadata.resourceVersion === undefined
      ) {
        meta.resourceVersion = current.metadata.resourceVersion;
      }
      return await replace(ns, name, merged);
    });

  const remove = (ns: string, name: string) =>
    guarded(async () => {
      const r = await store.remove(keyOf(ns, name));
      if (!r.ok) return notFound(name);
      return jsonResponse(200, {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Success",
        details: { ...details(name), uid: r.object.metadata.uid },
      });
    });

  const routes: [
    string,
    string,
    string,
    (
      ctx: { request: Request; params: Record<string, string | undefined> },
    ) => Promise<Response>,
  ][] = [
    ["GET", BASE, "list", ({ params }) => list(params.ns!)],
    [
      "POST",
      BASE,
      "create",
      ({ request, params }) => create(request, params.ns!),
    ],
    ["GET", `${BASE}/:name`, "get", ({ params }) =>
      guarded(async () => {
        const lease = await store.get(keyOf(params.ns!, params.name!));
        return lease ? jsonResponse(200, lease) : notFound(params.name!);
      })],
    [
      "PUT",
      `${BASE}/:name`,
      "update",
      ({ request, params }) => update(request, params.ns!, params.name!),
    ],
    [
      "PATCH",
      `${BASE}/:name`,
      "patch",
      ({ request, params }) => patch(request, params.ns!, params.name!),
    ],
    [
      "DELETE",
      `${BASE}/:name`,
      "delete",
      ({ params }) => remove(params.ns!, params.name!),
    ],
  ];
  return {
    name: "leases",
    store,
    install(server: RouteRegistrar) {
      for (const [method, path, verb, handler] of routes) {
        server.route(method, path, (ctx) => {
          if (!may(ctx.user, verb)) {
            return forbidden(ctx.user, verb, ctx.params.ns!, ctx.params.name);
          }
          return handler(ctx);
        }, KIND);
      }
    },
    state: () => {
      const inner = store instanceof StoreLink ? store.store : store;
      return inner instanceof MemoryStore ? inner.keys() : "shared store";
    },
  };
}

/**
 * `coordination.k8s.io/v1` Leases for the simulated API server: list,
 * create (409 AlreadyExists), get (404), update with optimistic concurrency
 * on `metadata.resourceVersion` (409 Conflict), delete, with kube-apiserver's
 * `Status` bodies.
 *
 * The objects live in a {@link LeaseStore}, separate from the routes, so
 * that several servers can share one store (one "etcd" behind every node's
 * API server).
 *
 * ```ts
 * const store = new LeaseStore();
 * const a = await SimApiServer.start({ routes: [leaseRoutes(store)] });
 * const b = await SimApiServer.start({ routes: [leaseRoutes(store)] });
 * ```
 *
 * @module
 */

import {
  jsonResponse,
  type RouteKind,
  type RouteRegistrar,
  type RouteSet,
  statusResponse,
} from "./api_http.ts";

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

/** Lease objects by `namespace/name`, and the resourceVersion counter. */
export class LeaseStore {
  /** Lease objects by `namespace/name`. */
  readonly leases: Map<string, Lease> = new Map();
  #resourceVersion = 1000;

  /** The latest resourceVersion handed out. */
  get resourceVersion(): string {
    return String(this.#resourceVersion);
  }

  /** A new, higher resourceVersion. */
  nextResourceVersion(): string {
    return String(++this.#resourceVersion);
  }
}

const GROUP = "coordination.k8s.io";
const BASE = "/apis/coordination.k8s.io/v1/namespaces/:ns/leases";
const KIND: RouteKind = { type: "resource", group: GROUP, resource: "leases" };

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

async function readBody(request: Request): Promise<Lease | Response> {
  try {
    const v = await request.json();
    if (!v || typeof v !== "object" || typeof v.metadata?.name !== "string") {
      return statusResponse(
        400,
        "BadRequest",
        "lease body needs metadata.name",
      );
    }
    return v as Lease;
  } catch {
    return statusResponse(400, "BadRequest", "the body is not JSON");
  }
}

function list(store: LeaseStore, ns: string): Response {
  return jsonResponse(200, {
    apiVersion: `${GROUP}/v1`,
    kind: "LeaseList",
    metadata: { resourceVersion: store.resourceVersion },
    items: [...store.leases.values()].filter((l) =>
      l.metadata.namespace === ns
    ),
  });
}

/** The object as stored: what the client sent plus the server's fields. */
function stored(
  store: LeaseStore,
  body: Lease,
  ns: string,
  keep: { uid: string; creationTimestamp: string },
): Lease {
  return {
    ...body,
    apiVersion: `${GROUP}/v1`,
    kind: "Lease",
    metadata: {
      ...body.metadata,
      name: body.metadata.name,
      namespace: ns,
      ...keep,
      resourceVersion: store.nextResourceVersion(),
    },
  };
}

async function create(
  store: LeaseStore,
  request: Request,
  ns: string,
): Promise<Response> {
  const body = await readBody(request);
  if (body instanceof Response) return body;
  const name = body.metadata.name;
  const key = `${ns}/${name}`;
  if (store.leases.has(key)) {
    return statusResponse(
      409,
      "AlreadyExists",
      `leases.${GROUP} "${name}" already exists`,
      details(name),
    );
  }
  const lease = stored(store, body, ns, {
    uid: crypto.randomUUID(),
    creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
  });
  store.leases.set(key, lease);
  return jsonResponse(201, lease);
}

async function update(
  store: LeaseStore,
  request: Request,
  ns: string,
  name: string,
): Promise<Response> {
  const body = await readBody(request);
  if (body instanceof Response) return body;
  if (body.metadata.name !== name) {
    return statusResponse(
      400,
      "BadRequest",
      `the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`,
    );
  }
  const key = `${ns}/${name}`;
  const current = store.leases.get(key);
  if (!current) return notFound(name);
  const rv = body.metadata.resourceVersion;
  // Optimistic concurrency: a stale resourceVersion loses (no RV:
  // unconditional, as for Leases).
  if (
    rv !== undefined && rv !== "" && rv !== current.metadata.resourceVersion
  ) {
    return statusResponse(
      409,
      "Conflict",
      `Operation cannot be fulfilled on leases.${GROUP} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      details(name),
    );
  }
  const lease = stored(store, body, ns, {
    uid: current.metadata.uid,
    creationTimestamp: current.metadata.creationTimestamp,
  });
  store.leases.set(key, lease);
  return jsonResponse(200, lease);
}

function remove(store: LeaseStore, ns: string, name: string): Response {
  const key = `${ns}/${name}`;
  const current = store.leases.get(key);
  if (!current) return notFound(name);
  store.leases.delete(key);
  return jsonResponse(200, {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Success",
    details: { ...details(name), uid: current.metadata.uid },
  });
}

/** The Lease routes over `store` (a fresh store by default). */
export function leaseRoutes(store: LeaseStore = new LeaseStore()): RouteSet {
  return {
    name: "leases",
    install(server: RouteRegistrar) {
      server.route("GET", BASE, ({ params }) => list(store, params.ns!), KIND);
      server.route(
        "POST",
        BASE,
        ({ request, params }) => create(store, request, params.ns!),
        KIND,
      );
      server.route("GET", `${BASE}/:name`, ({ params }) => {
        const lease = store.leases.get(`${params.ns}/${params.name}`);
        return lease ? jsonResponse(200, lease) : notFound(params.name!);
      }, KIND);
      server.route(
        "PUT",
        `${BASE}/:name`,
        ({ request, params }) =>
          update(store, request, params.ns!, params.name!),
        KIND,
      );
      server.route(
        "DELETE",
        `${BASE}/:name`,
        ({ params }) => remove(store, params.ns!, params.name!),
        KIND,
      );
    },
    state: () => [...store.leases.keys()],
  };
}

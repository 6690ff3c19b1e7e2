/**
 * A simulated kube-apiserver for tests and labs: real TLS (a kubeadm-shaped
 * certificate without a 127.0.0.1 SAN), bearer-token authentication (401)
 * and authorization (403) with Kubernetes `Status` bodies, `/readyz`
 * `/livez` `/healthz` in the real output format (k8s.io/apiserver
 * healthz.go), and `coordination.k8s.io/v1` Leases with resourceVersion
 * conflicts (409).
 *
 * Switches at runtime: unready (which checks fail), slow (delay every API
 * response), refuse (close the listener; reopen on the same port).
 *
 * Standalone (for labs in network namespaces):
 *
 * ```sh
 * deno run -A tests/support/api_server.ts --host 127.0.0.1 --port 6443 \
 *   --cert-dir /tmp/pki --token s3cret --control-port 7443
 * curl -X POST 'http://127.0.0.1:7443/unready?checks=etcd'
 * ```
 *
 * Run with `--help` for all flags and control endpoints.
 */

import { loadOrGeneratePki, testPki } from "./pki.ts";

/** What an authenticated user may access. */
export interface TokenPolicy {
  /** User name, as in 403 messages (`system:serviceaccount:kube-system:ha-vip`). */
  user: string;
  /**
   * Paths the user may access: exact (`/readyz`) or prefix with a trailing
   * `*` (`/apis/coordination.k8s.io/*`); `"*"` for everything.
   */
  allow: "*" | string[];
}

/** How requests without a token are treated. */
export type AnonymousMode =
  /** kubeadm default: `system:public-info-viewer` lets anyone read health endpoints. */
  | "allow"
  /** `--anonymous-auth=false` (k3s): 401. */
  | "unauthorized"
  /** Anonymous auth on but the public-info-viewer binding removed: 403. */
  | "forbidden";

/** Paths `system:unauthenticated` may GET with the kubeadm default RBAC. */
export const PUBLIC_INFO_PATHS = [
  "/healthz",
  "/healthz/*",
  "/livez",
  "/livez/*",
  "/readyz",
  "/readyz/*",
  "/version",
  "/version/",
];

/** Check names of a kube-apiserver 1.30 (`/readyz?verbose`). */
export const READYZ_CHECKS = [
  "ping",
  "log",
  "etcd",
  "etcd-readiness",
  "informer-sync",
  "poststarthook/start-apiserver-admission-initializer",
  "poststarthook/generic-apiserver-start-informers",
  "poststarthook/priority-and-fairness-config-consumer",
  "poststarthook/priority-and-fairness-filter",
  "poststarthook/storage-object-count-tracker-hook",
  "poststarthook/start-apiextensions-informers",
  "poststarthook/start-apiextensions-controllers",
  "poststarthook/crd-informer-synced",
  "poststarthook/start-system-namespaces-controller",
  "poststarthook/bootstrap-controller",
  "poststarthook/rbac/bootstrap-roles",
  "poststarthook/scheduling/bootstrap-system-priority-classes",
  "poststarthook/priority-and-fairness-config-producer",
  "poststarthook/start-cluster-authentication-info-controller",
  "poststarthook/start-kube-apiserver-identity-lease-controller",
  "poststarthook/start-kube-apiserver-identity-lease-garbage-collector",
  "poststarthook/start-legacy-token-tracking-controller",
  "poststarthook/aggregator-reload-proxy-client-cert",
  "poststarthook/start-kube-aggregator-informers",
  "poststarthook/apiservice-registration-controller",
  "poststarthook/apiservice-status-available-controller",
  "poststarthook/kube-apiserver-autoregistration",
  "autoregister-completion",
  "poststarthook/apiservice-openapi-controller",
  "poststarthook/apiservice-openapiv3-controller",
  "poststarthook/apiservice-discovery-controller",
  "shutdown",
];

/** `/livez` and `/healthz` lack the readiness-only checks. */
const READINESS_ONLY = new Set(["etcd-readiness", "informer-sync", "shutdown"]);

/** Options of {@link SimApiServer.start}. */
export interface SimApiServerOptions {
  /** Default 127.0.0.1. */
  hostname?: string;
  /** Default 0 (random). */
  port?: number;
  /** PEM serving certificate and key; default the test PKI's kubeadm-shaped pair. */
  cert?: string;
  key?: string;
  /** Serve plain HTTP instead. */
  plainHttp?: boolean;
  /** token -> policy. */
  tokens?: Record<string, TokenPolicy>;
  /** Default "allow". */
  anonymous?: AnonymousMode;
  /** Initially failing check names (unknown names are added to /readyz). */
  failing?: string[];
  /** Delay before every API response, ms (Infinity: until changed). */
  delayMs?: number;
}

/** A request the server saw (tests assert on tokens; this is test code). */
export interface RecordedRequest {
  method: string;
  path: string;
  /** The bearer token sent, if any. */
  token?: string;
  status: number;
}

/** What a route handler gets. */
export interface RouteContext {
  request: Request;
  url: URL;
  params: Record<string, string | undefined>;
  /** The authenticated user (`system:anonymous` without a token). */
  user: string;
  server: SimApiServer;
}

/** How a route is authorized: a non-resource URL, or a resource (for 403 text). */
export type RouteKind =
  | { type: "nonResource" }
  | { type: "resource"; group: string; resource: string };

/** A route: method + URLPattern pathname. */
export interface Route {
  method: string;
  pattern: URLPattern;
  kind: RouteKind;
  handler: (ctx: RouteContext) => Response | Promise<Response>;
}

/** A runtime control command (HTTP control endpoint, control file, tests). */
export interface ControlCommand {
  /** Failing check names; `[]` = ready. */
  failing?: string[];
  /** Delay before every API response, ms; `null` or Infinity = stall. */
  delayMs?: number | null;
  /** false: close the listener (connection refused); true: reopen it. */
  listening?: boolean;
  anonymous?: AnonymousMode;
  /** Tokens to add or replace. */
  tokens?: Record<string, TokenPolicy>;
  /** Tokens to remove. */
  removeTokens?: string[];
}

/** A JSON response with kube-apiserver's headers. */
export function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body) + "\n", {
    status,
    headers: {
      "content-type": "application/json",
      "cache-control": "no-cache, private",
      "audit-id": crypto.randomUUID(),
    },
  });
}

/** A Kubernetes `Status` failure body. */
export function statusResponse(
  code: number,
  reason: string,
  message: string,
  details?: Record<string, unknown>,
): Response {
  const body: Record<string, unknown> = {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
  };
  if (details) body.details = details;
  body.code = code;
  return jsonResponse(code, body);
}

function textResponse(status: number, text: string): Response {
  return new Response(text, {
    status,
    headers: {
      "content-type": "text/plain; charset=utf-8",
      "x-content-type-options": "nosniff",
      "cache-control": "no-cache, private",
      "audit-id": crypto.randomUUID(),
    },
  });
}

function allowed(policy: "*" | string[], path: string): boolean {
  if (policy === "*") return true;
  return policy.some((p) =>
    p === "*" || p === path ||
    (p.endsWith("*") && path.startsWith(p.slice(0, -1)))
  );
}

const VERBS: Record<string, string> = {
  GET: "get",
  POST: "create",
  PUT: "update",
  PATCH: "patch",
  DELETE: "delete",
};

interface Lease {
  apiVersion: "coordination.k8s.io/v1";
  kind: "Lease";
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
    [k: string]: unknown;
  };
  spec?: Record<string, unknown>;
}

/** The simulated API server. */
export class SimApiServer {
  readonly hostname: string;
  readonly plainHttp: boolean;
  /** Requests seen, oldest first (bounded). */
  readonly requests: RecordedRequest[] = [];
  /** Lease objects by `namespace/name`. */
  readonly leases = new Map<string, Lease>();
  #port: number;
  #cert?: string;
  #key?: string;
  #tokens: Map<string, TokenPolicy>;
  #anonymous: AnonymousMode;
  #failing: Set<string>;
  #delayMs: number;
  // Aborted when the delay changes or the server stops: releases waiting requests.
  #delayEpoch = new AbortController();
  #server?: Deno.HttpServer<Deno.NetAddr>;
  #serverAbort?: AbortController;
  #routes: Route[] = [];
  #resourceVersion = 1000;

  private constructor(options: SimApiServerOptions) {
    this.hostname = options.hostname ?? "127.0.0.1";
    this.#port = options.port ?? 0;
    this.plainHttp = options.plainHttp ?? false;
    this.#cert = options.cert;
    this.#key = options.key;
    this.#tokens = new Map(Object.entries(options.tokens ?? {}));
    this.#anonymous = options.anonymous ?? "allow";
    this.#failing = new Set(options.failing ?? []);
    this.#delayMs = options.delayMs ?? 0;
    this.#addHealthRoutes();
    this.#addLeaseRoutes();
  }

  /** Starts a server (TLS with the test PKI unless `plainHttp`). */
  static async start(options: SimApiServerOptions = {}): Promise<SimApiServer> {
    const server = new SimApiServer(options);
    if (
      !server.plainHttp &&
      (server.#cert === undefined || server.#key === undefined)
    ) {
      const pki = await testPki();
      server.#cert ??= pki.serverCert;
      server.#key ??= pki.serverKey;
    }
    server.#listen();
    return server;
  }

  /** The port (stable across refuse/accept). */
  get port(): number {
    return this.#port;
  }

  /** `https://127.0.0.1:PORT` (or http://). */
  get url(): string {
    const host = this.hostname.includes(":")
      ? `[${this.hostname}]`
      : this.hostname;
    return `${this.plainHttp ? "http" : "https"}://${host}:${this.#port}`;
  }

  /** Whether the listener is open. */
  get listening(): boolean {
    return this.#server !== undefined;
  }

  #listen(): void {
    if (this.#server) return;
    const abort = new AbortController();
    const handler = (req: Request) => this.#handle(req);
    const common = {
      hostname: this.hostname,
      port: this.#port,
      signal: abort.signal,
      onListen: () => {},
      onError: () => new Response("internal error", { status: 500 }),
    };
    this.#server = this.plainHttp
      ? Deno.serve(common, handler)
      : Deno.serve({ ...common, cert: this.#cert!, key: this.#key! }, handler);
    this.#serverAbort = abort;
    this.#port = this.#server.addr.port;
  }

  async #unlisten(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    this.#serverAbort?.abort();
    await server.finished;
  }

  /** Registers a route (checked before the built-in ones). */
  route(
    method: string,
    pathname: string,
    handler: Route["handler"],
    kind: RouteKind = { type: "nonResource" },
  ): void {
    this.#routes.unshift({
      method: method.toUpperCase(),
      pattern: new URLPattern({ pathname }),
      kind,
      handler,
    });
  }

  /** All checks pass. */
  setReady(): void {
    this.#failing.clear();
  }

  /** These checks fail (default etcd). */
  setUnready(checks: string[] = ["etcd"]): void {
    this.#failing = new Set(checks);
  }

  /** Delay every API response by `ms` (Infinity: until changed or closed). */
  setDelay(ms: number): void {
    this.#delayMs = ms;
    this.#delayEpoch.abort();
    this.#delayEpoch = new AbortController();
  }

  setAnonymous(mode: AnonymousMode): void {
    this.#anonymous = mode;
  }

  setToken(token: string, policy: TokenPolicy): void {
    this.#tokens.set(token, policy);
  }

  removeToken(token: string): void {
    this.#tokens.delete(token);
  }

  /** Closes the listener: connections are refused until {@link accept}. */
  async refuse(): Promise<void> {
    this.#delayEpoch.abort();
    this.#delayEpoch = new AbortController();
    await this.#unlisten();
  }

  /** Listens again on the same port. */
  accept(): void {
    this.#listen();
  }

  /** Applies a control command. */
  async control(cmd: ControlCommand): Promise<void> {
    if (cmd.failing !== undefined) this.#failing = new Set(cmd.failing);
    if (cmd.delayMs !== undefined) this.setDelay(cmd.delayMs ?? Infinity);
    if (cmd.anonymous !== undefined) this.#anonymous = cmd.anonymous;
    for (const [t, p] of Object.entries(cmd.tokens ?? {})) {
      this.#tokens.set(t, p);
    }
    for (const t of cmd.removeTokens ?? []) this.#tokens.delete(t);
    if (cmd.listening === false) await this.refuse();
    if (cmd.listening === true) this.accept();
  }

  /** The switchable state, for the control endpoint. */
  state(): Record<string, unknown> {
    return {
      url: this.url,
      listening: this.listening,
      ready: this.#failing.size === 0,
      failing: [...this.#failing],
      delayMs: Number.isFinite(this.#delayMs) ? this.#delayMs : null,
      anonymous: this.#anonymous,
      users: [...this.#tokens.values()].map((p) => p.user),
      leases: [...this.leases.keys()],
    };
  }

  /** Stops listening and releases delayed requests. */
  async close(): Promise<void> {
    this.#delayEpoch.abort();
    await this.#unlisten();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #delay(): Promise<void> {
    const ms = this.#delayMs;
    if (ms <= 0) return;
    const signal = this.#delayEpoch.signal;
    await new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const timer = Number.isFinite(ms) ? setTimeout(done, ms) : undefined;
      function done() {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done);
    });
  }

  async #handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const auth = request.headers.get("authorization");
    const token = auth?.match(/^Bearer (.+)$/i)?.[1];
    const res = await this.#respond(request, url, auth, token);
    this.requests.push({
      method: request.method,
      path: url.pathname + url.search,
      token,
      status: res.status,
    });
    if (this.requests.length > 1000) this.requests.shift();
    return res;
  }

  async #respond(
    request: Request,
    url: URL,
    auth: string | null,
    token: string | undefined,
  ): Promise<Response> {
    await this.#delay();
    // Authentication, like kube-apiserver: bad credentials never fall back
    // to anonymous.
    let user: string;
    let policy: "*" | string[];
    if (auth !== null) {
      const p = token === undefined ? undefined : this.#tokens.get(token);
      if (!p) return statusResponse(401, "Unauthorized", "Unauthorized");
      user = p.user;
      policy = p.allow;
    } else if (this.#anonymous === "unauthorized") {
      return statusResponse(401, "Unauthorized", "Unauthorized");
    } else {
      user = "system:anonymous";
      policy = this.#anonymous === "allow" ? PUBLIC_INFO_PATHS : [];
    }
    for (const route of this.#routes) {
      if (route.method !== request.method) continue;
      const m = route.pattern.exec({ pathname: url.pathname });
      if (!m) continue;
      const params = m.pathname.groups;
      if (!allowed(policy, url.pathname)) {
        return this.#forbidden(request, url, user, route.kind, params);
      }
      return await route.handler({ request, url, params, user, server: this });
    }
    if (!allowed(policy, url.pathname)) {
      return this.#forbidden(request, url, user, { type: "nonResource" }, {});
    }
    return statusResponse(
      404,
      "NotFound",
      "the server could not find the requested resource",
      {},
    );
  }

  #forbidden(
    request: Request,
    url: URL,
    user: string,
    kind: RouteKind,
    params: Record<string, string | undefined>,
  ): Response {
    const verb = VERBS[request.method] ?? request.method.toLowerCase();
    if (kind.type === "nonResource") {
      return statusResponse(
        403,
        "Forbidden",
        `forbidden: User "${user}" cannot ${verb} path "${url.pathname}"`,
        {},
      );
    }
    const full = `${kind.resource}.${kind.group}`;
    const name = params.name;
    const where = params.ns ? ` in the namespace "${params.ns}"` : "";
    return statusResponse(
      403,
      "Forbidden",
      `${full}${
        name ? ` "${name}"` : ""
      } is forbidden: User "${user}" cannot ${verb} resource "${kind.resource}" in API group "${kind.group}"${where}`,
      { ...(name ? { name } : {}), group: kind.group, kind: kind.resource },
    );
  }

  /** The health output of kube-apiserver (k8s.io/apiserver/pkg/server/healthz). */
  #health(endpoint: "readyz" | "livez" | "healthz", url: URL): Response {
    let checks = READYZ_CHECKS.filter((c) =>
      endpoint === "readyz" || !READINESS_ONLY.has(c)
    );
    if (endpoint === "readyz") {
      checks = [
        ...checks,
        ...[...this.#failing].filter((c) => !READYZ_CHECKS.includes(c)),
      ];
    }
    const excluded = new Set(url.searchParams.getAll("exclude"));
    let out = "";
    const failed: string[] = [];
    for (const name of checks) {
      if (excluded.delete(name)) {
        out += `[+]${name} excluded: ok\n`;
      } else if (this.#failing.has(name)) {
        out += `[-]${name} failed: reason withheld\n`;
        failed.push(name);
      } else {
        out += `[+]${name} ok\n`;
      }
    }
    if (excluded.size > 0) {
      const list = [...excluded].sort().map((e) => `"${e}"`).join(", ");
      out +=
        `warn: some health checks cannot be excluded: no matches for ${list}\n`;
    }
    // "always be verbose on failure"; http.Error appends "\n".
    if (failed.length > 0) {
      return textResponse(500, `${out}${endpoint} check failed\n`);
    }
    if (!url.searchParams.has("verbose")) return textResponse(200, "ok");
    return textResponse(200, `${out}${endpoint} check passed\n`);
  }

  #addHealthRoutes(): void {
    for (const endpoint of ["readyz", "livez", "healthz"] as const) {
      this.#routes.push({
        method: "GET",
        pattern: new URLPattern({ pathname: `/${endpoint}` }),
        kind: { type: "nonResource" },
        handler: ({ url }) => this.#health(endpoint, url),
      });
      this.#routes.push({
        method: "GET",
        pattern: new URLPattern({ pathname: `/${endpoint}/:check+` }),
        kind: { type: "nonResource" },
        handler: ({ params }) => {
          const name = params.check ?? "";
          const known = READYZ_CHECKS.includes(name) || this.#failing.has(name);
          if (!known) return textResponse(404, "404 page not found\n");
          return this.#failing.has(name)
            ? textResponse(500, `internal server error: ${name} check failed\n`)
            : textResponse(200, "ok");
        },
      });
    }
    this.#routes.push({
      method: "GET",
      pattern: new URLPattern({ pathname: "/version" }),
      kind: { type: "nonResource" },
      handler: () =>
        jsonResponse(200, {
          major: "1",
          minor: "30",
          gitVersion: "v1.30.0-sim",
          platform: "linux/amd64",
        }),
    });
  }

  #nextResourceVersion(): string {
    return String(++this.#resourceVersion);
  }

  #addLeaseRoutes(): void {
    const base = "/apis/coordination.k8s.io/v1/namespaces/:ns/leases";
    const kind: RouteKind = {
      type: "resource",
      group: "coordination.k8s.io",
      resource: "leases",
    };
    const notFound = (name: string) =>
      statusResponse(
        404,
        "NotFound",
        `leases.coordination.k8s.io "${name}" not found`,
        {
          name,
          group: "coordination.k8s.io",
          kind: "leases",
        },
      );
    const readBody = async (request: Request): Promise<Lease | Response> => {
      try {
        const v = await request.json();
        if (
          !v || typeof v !== "object" || typeof v.metadata?.name !== "string"
        ) {
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
    };
    this.#routes.push({
      method: "GET",
      pattern: new URLPattern({ pathname: base }),
      kind,
      handler: ({ params }) =>
        jsonResponse(200, {
          apiVersion: "coordination.k8s.io/v1",
          kind: "LeaseList",
          metadata: { resourceVersion: String(this.#resourceVersion) },
          items: [...this.leases.values()].filter((l) =>
            l.metadata.namespace === params.ns
          ),
        }),
    });
    this.#routes.push({
      method: "POST",
      pattern: new URLPattern({ pathname: base }),
      kind,
      handler: async ({ request, params }) => {
        const body = await readBody(request);
        if (body instanceof Response) return body;
        const ns = params.ns!;
        const name = body.metadata.name;
        const key = `${ns}/${name}`;
        if (this.leases.has(key)) {
          return statusResponse(
            409,
            "AlreadyExists",
            `leases.coordination.k8s.io "${name}" already exists`,
            {
              name,
              group: "coordination.k8s.io",
              kind: "leases",
            },
          );
        }
        const lease: Lease = {
          ...body,
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: {
            ...body.metadata,
            name,
            namespace: ns,
            uid: crypto.randomUUID(),
            resourceVersion: this.#nextResourceVersion(),
            creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
          },
        };
        this.leases.set(key, lease);
        return jsonResponse(201, lease);
      },
    });
    this.#routes.push({
      method: "GET",
      pattern: new URLPattern({ pathname: `${base}/:name` }),
      kind,
      handler: ({ params }) => {
        const lease = this.leases.get(`${params.ns}/${params.name}`);
        return lease ? jsonResponse(200, lease) : notFound(params.name!);
      },
    });
    this.#routes.push({
      method: "PUT",
      pattern: new URLPattern({ pathname: `${base}/:name` }),
      kind,
      handler: async ({ request, params }) => {
        const body = await readBody(request);
        if (body instanceof Response) return body;
        const name = params.name!;
        if (body.metadata.name !== name) {
          return statusResponse(
            400,
            "BadRequest",
            `the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`,
          );
        }
        const key = `${params.ns}/${name}`;
        const current = this.leases.get(key);
        if (!current) return notFound(name);
        const rv = body.metadata.resourceVersion;
        // Optimistic concurrency: a stale resourceVersion loses (no RV: unconditional, as for Leases).
        if (
          rv !== undefined && rv !== "" &&
          rv !== current.metadata.resourceVersion
        ) {
          return statusResponse(
            409,
            "Conflict",
            `Operation cannot be fulfilled on leases.coordination.k8s.io "${name}": the object has been modified; please apply your changes to the latest version and try again`,
            { name, group: "coordination.k8s.io", kind: "leases" },
          );
        }
        const lease: Lease = {
          ...body,
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: {
            ...body.metadata,
            name,
            namespace: params.ns!,
            uid: current.metadata.uid,
            creationTimestamp: current.metadata.creationTimestamp,
            resourceVersion: this.#nextResourceVersion(),
          },
        };
        this.leases.set(key, lease);
        return jsonResponse(200, lease);
      },
    });
    this.#routes.push({
      method: "DELETE",
      pattern: new URLPattern({ pathname: `${base}/:name` }),
      kind,
      handler: ({ params }) => {
        const key = `${params.ns}/${params.name}`;
        const current = this.leases.get(key);
        if (!current) return notFound(params.name!);
        this.leases.delete(key);
        return jsonResponse(200, {
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Success",
          details: {
            name: params.name,
            group: "coordination.k8s.io",
            kind: "leases",
            uid: current.metadata.uid,
          },
        });
      },
    });
  }
}

// ---------------------------------------------------------------------------
// Standalone mode.

const USAGE = `simulated kube-apiserver for ha-vip tests and labs

usage: deno run -A tests/support/api_server.ts [flags]

  --host ADDR              listen address (default 127.0.0.1)
  --port N                 listen port (default 6443; 0 = random)
  --cert-dir DIR           kubeadm-style PKI: ca.crt, apiserver.crt, apiserver.key
                           (generated there if missing); default: a temp dir
  --node-name NAME         SAN of a generated certificate (default cp-1)
  --node-ip IP             SAN of a generated certificate (default 10.0.0.11)
  --plain-http             no TLS
  --token T                a token with full access (user "admin"; repeatable)
  --forbidden-token T      a token that authenticates but may access nothing
  --reader-token T         a token allowed /readyz /livez /healthz only
  --anonymous MODE         allow (default) | unauthorized | forbidden
  --unready CHECKS         start unready, CHECKS comma-separated (e.g. etcd)
  --delay-ms N             delay every API response
  --control-host ADDR      control endpoint address (default: --host)
  --control-port N         control endpoint port (default 0 = random; -1 = none)
  --control-file PATH      also poll PATH (JSON ControlCommand) every 100 ms

control endpoint (plain HTTP):
  GET  /state                         current state as JSON
  POST /ready                         all checks pass
  POST /unready?checks=etcd,...       these checks fail (default etcd)
  POST /delay?ms=N                    delay responses (ms=inf: stall)
  POST /refuse  |  POST /accept       close / reopen the API listener
  POST /anonymous?mode=MODE
  POST /control  (JSON body)          {"failing":[],"delayMs":0,"listening":true,...}
  POST /shutdown

prints one JSON line {"event":"listening",...} when up; SIGTERM/SIGINT stop it.`;

function parseArgs(args: string[]): Map<string, string[]> {
  const flags = new Map<string, string[]>();
  const booleans = new Set(["plain-http", "help"]);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("--")) throw new Error(`unexpected argument "${arg}"`);
    let name = arg.slice(2);
    let value: string;
    const eq = name.indexOf("=");
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    } else if (booleans.has(name)) {
      value = "true";
    } else {
      if (i + 1 >= args.length) throw new Error(`--${name} needs a value`);
      value = args[++i];
    }
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return flags;
}

function controlHandler(
  server: SimApiServer,
  shutdown: () => void,
): (req: Request) => Promise<Response> {
  return async (req) => {
    const url = new URL(req.url);
    const ok = () => jsonResponse(200, server.state());
    const q = url.searchParams;
    try {
      if (req.method === "GET" && url.pathname === "/state") return ok();
      if (req.method !== "POST") {
        return jsonResponse(405, { error: "use POST" });
      }
      switch (url.pathname) {
        case "/ready":
          server.setReady();
          return ok();
        case "/unready":
          server.setUnready(
            q.get("checks")?.split(",").filter(Boolean) ?? ["etcd"],
          );
          return ok();
        case "/delay": {
          const ms = q.get("ms") ?? "0";
          server.setDelay(ms === "inf" ? Infinity : Number(ms));
          return ok();
        }
        case "/refuse":
          await server.refuse();
          return ok();
        case "/accept":
          server.accept();
          return ok();
        case "/anonymous":
          server.setAnonymous((q.get("mode") ?? "allow") as AnonymousMode);
          return ok();
        case "/control":
          await server.control(await req.json());
          return ok();
        case "/shutdown":
          setTimeout(shutdown, 0);
          return ok();
      }
      return jsonResponse(404, { error: `unknown control ${url.pathname}` });
    } catch (err) {
      return jsonResponse(400, { error: String(err) });
    }
  };
}

async function main(args: string[]): Promise<number> {
  let flags: Map<string, string[]>;
  try {
    flags = parseArgs(args);
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const one = (name: string) => flags.get(name)?.at(-1);
  if (one("help")) {
    console.log(USAGE);
    return 0;
  }
  const host = one("host") ?? "127.0.0.1";
  const plainHttp = one("plain-http") === "true";
  let caCertFile: string | undefined;
  let cert: string | undefined;
  let key: string | undefined;
  if (!plainHttp) {
    const dir = one("cert-dir") ??
      await Deno.makeTempDir({ prefix: "ha-vip-sim-pki-" });
    const pki = await loadOrGeneratePki(dir, {
      nodeName: one("node-name"),
      nodeIp: one("node-ip"),
    });
    caCertFile = pki.caCertFile;
    cert = pki.serverCert;
    key = pki.serverKey;
  }
  const tokens: Record<string, TokenPolicy> = {};
  for (const t of flags.get("token") ?? []) {
    tokens[t] = { user: "admin", allow: "*" };
  }
  for (const t of flags.get("forbidden-token") ?? []) {
    tokens[t] = { user: "system:serviceaccount:kube-system:nobody", allow: [] };
  }
  for (const t of flags.get("reader-token") ?? []) {
    tokens[t] = {
      user: "system:serviceaccount:kube-system:ha-vip",
      allow: ["/readyz", "/livez", "/healthz"],
    };
  }
  const unready = one("unready");
  const server = await SimApiServer.start({
    hostname: host,
    port: Number(one("port") ?? 6443),
    plainHttp,
    cert,
    key,
    tokens,
    anonymous: (one("anonymous") ?? "allow") as AnonymousMode,
    failing: unready ? unready.split(",").filter(Boolean) : [],
    delayMs: Number(one("delay-ms") ?? 0),
  });

  let stopped = false;
  const stopControl = new AbortController();
  const done = Promise.withResolvers<void>();
  const shutdown = () => {
    if (stopped) return;
    stopped = true;
    stopControl.abort();
    server.close().then(() => done.resolve());
  };

  let controlUrl: string | undefined;
  const controlPort = Number(one("control-port") ?? 0);
  if (controlPort >= 0) {
    const control = Deno.serve({
      hostname: one("control-host") ?? host,
      port: controlPort,
      signal: stopControl.signal,
      onListen: () => {},
    }, controlHandler(server, shutdown));
    const a = control.addr;
    controlUrl = `http://${
      a.hostname.includes(":") ? `[${a.hostname}]` : a.hostname
    }:${a.port}`;
  }

  const controlFile = one("control-file");
  if (controlFile) {
    let last = "";
    const poll = async () => {
      if (stopped) return;
      try {
        const text = await Deno.readTextFile(controlFile);
        if (text !== last && text.trim() !== "") {
          last = text;
          await server.control(JSON.parse(text));
          console.log(
            JSON.stringify({ event: "control", state: server.state() }),
          );
        }
      } catch {
        // missing or half-written: try again
      }
      if (!stopped) setTimeout(poll, 100);
    };
    poll();
  }

  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(sig, shutdown);
  }
  console.log(JSON.stringify({
    event: "listening",
    url: server.url,
    control: controlUrl,
    controlFile,
    caCertFile,
    tlsServerName: plainHttp ? undefined : "kubernetes",
  }));
  await done.promise;
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    Deno.removeSignalListener(sig, shutdown);
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));

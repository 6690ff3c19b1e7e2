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
 * Routes come in route sets (`api_leases.ts`; {@link RouteSet}), each in its
 * own file, registered through {@link SimApiServer.route}; a new resource
 * is a new file, not an edit of this one. The standalone process is
 * `api_server_main.ts`.
 *
 * @module
 */

import {
  jsonResponse,
  type Route,
  type RouteKind,
  type RouteSet,
  statusResponse,
  textResponse,
} from "./api_http.ts";
import { discoveryRoutes } from "./api_discovery.ts";
import { leaseRoutes } from "./api_leases.ts";
import { testPki } from "./pki.ts";

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
  /** PEM key of `cert`. */
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
  /** Resource routes; default the Leases of a fresh store ({@link leaseRoutes}) and discovery. */
  routes?: RouteSet[];
}

/** A request the server saw (tests assert on tokens; this is test code). */
export interface RecordedRequest {
  /** HTTP method. */
  method: string;
  /** Path and query. */
  path: string;
  /** The bearer token sent, if any. */
  token?: string;
  /** The status answered. */
  status: number;
  /** The client's port: requests with the same one came over one connection. */
  clientPort: number;
}

/** A runtime control command (HTTP control endpoint, control file, tests). */
export interface ControlCommand {
  /** Failing check names; `[]` = ready. */
  failing?: string[];
  /** Delay before every API response, ms; `null` or Infinity = stall. */
  delayMs?: number | null;
  /** false: close the listener (connection refused); true: reopen it. */
  listening?: boolean;
  /** How requests without a token are treated from now on. */
  anonymous?: AnonymousMode;
  /** Tokens to add or replace. */
  tokens?: Record<string, TokenPolicy>;
  /** Tokens to remove. */
  removeTokens?: string[];
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

/** The simulated API server. */
export class SimApiServer {
  /** The listen address. */
  readonly hostname: string;
  /** Serves plain HTTP instead of TLS. */
  readonly plainHttp: boolean;
  /** Requests seen, oldest first (bounded). */
  readonly requests: RecordedRequest[] = [];
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
  #routeSets: RouteSet[];

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
    this.#routeSets = options.routes ?? [leaseRoutes(), discoveryRoutes()];
    for (const set of this.#routeSets) set.install(this);
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
    const handler = (req: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) =>
      this.#handle(req, info.remoteAddr.port);
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

  /** The failing checks now (a `HealthTarget` of `watchStoreHealth`). */
  failingChecks(): string[] {
    return [...this.#failing];
  }

  /** Exactly these checks fail (`[]`: ready). */
  setFailingChecks(checks: string[]): void {
    this.#failing = new Set(checks);
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

  /** How requests without a token are treated from now on. */
  setAnonymous(mode: AnonymousMode): void {
    this.#anonymous = mode;
  }

  /** Adds or replaces a token. */
  setToken(token: string, policy: TokenPolicy): void {
    this.#tokens.set(token, policy);
  }

  /** Removes a token: it gets 401 from now on. */
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
      ...Object.fromEntries(
        this.#routeSets.map((set) => [set.name, set.state?.()]),
      ),
    };
  }

  /** Stops listening and releases delayed requests. */
  async close(): Promise<void> {
    this.#delayEpoch.abort();
    await this.#unlisten();
  }

  /** Same as {@link SimApiServer.close} (`await using`). */
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

  async #handle(request: Request, clientPort: number): Promise<Response> {
    const url = new URL(request.url);
    const auth = request.headers.get("authorization");
    const token = auth?.match(/^Bearer (.+)$/i)?.[1];
    const res = await this.#respond(request, url, auth, token);
    this.requests.push({
      method: request.method,
      path: url.pathname + url.search,
      token,
      status: res.status,
      clientPort,
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
}

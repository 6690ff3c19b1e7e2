/**
 * The HTTP vocabulary of the simulated API server: kube-apiserver-shaped
 * responses (`Status` bodies, JSON and text headers) and the route types a
 * route set registers. Route sets (Leases today; discovery and more later)
 * live in their own files and only need this module.
 *
 * @module
 */

import type { SimApiServer } from "./api_server.ts";

/** What a route handler gets. */
export interface RouteContext {
  /** The request as received. */
  request: Request;
  /** Its URL, parsed. */
  url: URL;
  /** The URLPattern groups of the path (`ns`, `name`, ...). */
  params: Record<string, string | undefined>;
  /** The authenticated user (`system:anonymous` without a token). */
  user: string;
  /** The server answering. */
  server: SimApiServer;
}

/** How a route is authorized: a non-resource URL, or a resource (for 403 text). */
export type RouteKind =
  | { type: "nonResource" }
  | { type: "resource"; group: string; resource: string };

/** A route: method + URLPattern pathname. */
export interface Route {
  /** Upper-case HTTP method. */
  method: string;
  /** The path pattern. */
  pattern: URLPattern;
  /** How it is authorized (and named in 403 messages). */
  kind: RouteKind;
  /** Answers a request. */
  handler: (ctx: RouteContext) => Response | Promise<Response>;
}

/** Where a route set registers its routes (a {@link SimApiServer}). */
export interface RouteRegistrar {
  /** Registers `handler` for `method` and a URLPattern `pathname`. */
  route(
    method: string,
    pathname: string,
    handler: Route["handler"],
    kind?: RouteKind,
  ): void;
}

/**
 * A group of routes added to a server at start (e.g. the Leases of
 * `api_leases.ts`).
 * `state()` is shown under `name` in the server's control `/state`.
 */
export interface RouteSet {
  /** Key of this set in `SimApiServer.state()`, e.g. `leases`. */
  readonly name: string;
  /** Registers the routes. */
  install(server: RouteRegistrar): void;
  /** A JSON-able summary for the control endpoint. */
  state?(): unknown;
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

/** A Kubernetes `Status` failure body (kind Status, status Failure). */
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

/** A plain-text response with kube-apiserver's headers. */
export function textResponse(status: number, text: string): Response {
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

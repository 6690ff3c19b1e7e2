/**
 * The discovery documents kubectl reads before it touches a resource:
 * `/api`, `/api/v1`, `/apis`, `/apis/coordination.k8s.io[/v1]` (the legacy
 * form; kubectl falls back to it when the answer is not the aggregated
 * one), and an OpenAPI v2 document with no definitions (`/openapi/v2`, an
 * empty protobuf message; `/openapi/v3` is 404 so kubectl falls back to
 * it): `kubectl apply` then finds no schema for Lease and validates
 * nothing client-side, as for a type it does not know; the server still
 * validates the object (api_leases.ts).
 *
 * @module
 */

import {
  jsonResponse,
  type RouteRegistrar,
  type RouteSet,
} from "./api_http.ts";

const LEASE_RESOURCE = {
  name: "leases",
  singularName: "lease",
  namespaced: true,
  kind: "Lease",
  verbs: [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
  ],
  storageVersionHash: "gqkMMb/YqFM=",
};

/** Discovery routes for the groups this simulated server serves (Leases). */
export function discoveryRoutes(): RouteSet {
  return {
    name: "discovery",
    install(server: RouteRegistrar) {
      server.route("GET", "/api", ({ url }) =>
        jsonResponse(200, {
          kind: "APIVersions",
          versions: ["v1"],
          serverAddressByClientCIDRs: [{
            clientCIDR: "0.0.0.0/0",
            serverAddress: url.host,
          }],
        }));
      server.route("GET", "/openapi/v2", () =>
        new Response(new Uint8Array(0), {
          status: 200,
          headers: {
            "content-type":
              "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
            "cache-control": "no-cache, private",
          },
        }));
      // kubectl apply checks that the namespace exists before a create.
      server.route(
        "GET",
        "/api/v1/namespaces/:ns",
        ({ params }) =>
          jsonResponse(200, {
            kind: "Namespace",
            apiVersion: "v1",
            metadata: { name: params.ns, uid: crypto.randomUUID() },
            spec: { finalizers: ["kubernetes"] },
            status: { phase: "Active" },
          }),
        { type: "resource", group: "", resource: "namespaces" },
      );
      server.route("GET", "/api/v1", () =>
        jsonResponse(200, {
          kind: "APIResourceList",
          groupVersion: "v1",
          resources: [],
        }));
      const group = {
        name: "coordination.k8s.io",
        versions: [{ groupVersion: "coordination.k8s.io/v1", version: "v1" }],
        preferredVersion: {
          groupVersion: "coordination.k8s.io/v1",
          version: "v1",
        },
      };
      server.route(
        "GET",
        "/apis",
        () =>
          jsonResponse(200, {
            kind: "APIGroupList",
            apiVersion: "v1",
            groups: [group],
          }),
      );
      server.route(
        "GET",
        "/apis/coordination.k8s.io",
        () =>
          jsonResponse(200, { kind: "APIGroup", apiVersion: "v1", ...group }),
      );
      server.route(
        "GET",
        "/apis/coordination.k8s.io/v1",
        () =>
          jsonResponse(200, {
            kind: "APIResourceList",
            apiVersion: "v1",
            groupVersion: "coordination.k8s.io/v1",
            resources: [LEASE_RESOURCE],
          }),
      );
    },
  };
}

/**
 * The simulated API server as a standalone process, for labs in network
 * namespaces:
 *
 * ```sh
 * deno run -A testing/api_server_main.ts --host 127.0.0.1 --port 6443 \
 *   --cert-dir /tmp/pki --token s3cret --control-port 7443
 * curl -X POST 'http://127.0.0.1:7443/unready?checks=etcd'
 * ```
 *
 * Run with `--help` for all flags and control endpoints.
 *
 * @module
 */

import { discoveryRoutes } from "./api_discovery.ts";
import { jsonResponse } from "./api_http.ts";
import { leaseRoutes } from "./api_leases.ts";
import {
  type AnonymousMode,
  type ControlCommand,
  SimApiServer,
  type TokenPolicy,
} from "./api_server.ts";
import {
  MemoryStore,
  RemoteStore,
  StoreLink,
  watchStoreHealth,
} from "./api_store.ts";
import { loadOrGeneratePki } from "./pki.ts";

const USAGE = `simulated kube-apiserver for ha-vip tests and labs

usage: deno run -A testing/api_server_main.ts [flags]

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
  --lease-token T          user system:serviceaccount:kube-system:ha-vip: the
                           health endpoints, and get/create/update on leases
                           (the RBAC of \`ha-vip manifest rbac\`)
  --store-url URL          the shared store (testing/api_store_main.ts) every
                           node's server uses; default: a store of its own
  --store-fail-ms N        an operation over a cut store link fails after N ms
                           (default 1000)
  --store-unready-ms N     /readyz fails etcd once the store has been out of
                           reach this long (default 2000)
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
  POST /store?connected=false|true    cut / restore this server's link to the store
  POST /control  (JSON body)          {"failing":[],"delayMs":0,"listening":true,"store":false,...}
  POST /shutdown

prints one JSON line {"event":"listening",...} when up, {"event":"store","reachable":
false|true} when /readyz starts or stops failing etcd; SIGTERM/SIGINT stop it.`;

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

/** A control command of the standalone server: the server's, and its store link. */
type MainControl = ControlCommand & {
  /** false: this server's link to the store is cut (its "etcd" partitioned away). */
  store?: boolean;
};

/** The running server and its link to the store. */
interface Running {
  server: SimApiServer;
  link: StoreLink;
}

async function applyControl(r: Running, cmd: MainControl): Promise<void> {
  const { store, ...rest } = cmd;
  if (store !== undefined) r.link.setConnected(store);
  await r.server.control(rest);
}

function stateOf(r: Running): Record<string, unknown> {
  return { ...r.server.state(), store: r.link.connected };
}

function controlHandler(
  r: Running,
  shutdown: () => void,
): (req: Request) => Promise<Response> {
  const server = r.server;
  return async (req) => {
    const url = new URL(req.url);
    const ok = () => jsonResponse(200, stateOf(r));
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
        case "/store":
          r.link.setConnected(q.get("connected") !== "false");
          return ok();
        case "/control":
          await applyControl(r, await req.json());
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

type Flags = Map<string, string[]>;

/** Token policies from `--token`, `--forbidden-token`, `--reader-token`. */
function tokensOf(flags: Flags): Record<string, TokenPolicy> {
  const tokens: Record<string, TokenPolicy> = {};
  for (const t of flags.get("token") ?? []) {
    tokens[t] = { user: "admin", allow: "*" };
  }
  for (const t of flags.get("forbidden-token") ?? []) {
    tokens[t] = { user: "system:serviceaccount:kube-system:nobody", allow: [] };
  }
  for (const t of flags.get("reader-token") ?? []) {
    tokens[t] = {
      user: HA_VIP_USER,
      allow: ["/readyz", "/livez", "/healthz"],
    };
  }
  for (const t of flags.get("lease-token") ?? []) {
    tokens[t] = {
      user: HA_VIP_USER,
      allow: [
        "/readyz",
        "/readyz/*",
        "/livez",
        "/livez/*",
        "/healthz",
        "/apis/coordination.k8s.io/v1/namespaces/*",
      ],
    };
  }
  return tokens;
}

/** The service account ha-vip runs as; its lease verbs are RBAC's. */
const HA_VIP_USER = "system:serviceaccount:kube-system:ha-vip";

/** Starts the API server from the flags; `caCertFile` for the listening line. */
async function startServer(flags: Flags) {
  const one = (name: string) => flags.get(name)?.at(-1);
  const plainHttp = one("plain-http") === "true";
  let pki: Awaited<ReturnType<typeof loadOrGeneratePki>> | undefined;
  if (!plainHttp) {
    const dir = one("cert-dir") ??
      await Deno.makeTempDir({ prefix: "ha-vip-sim-pki-" });
    pki = await loadOrGeneratePki(dir, {
      nodeName: one("node-name"),
      nodeIp: one("node-ip"),
    });
  }
  const unready = one("unready");
  const storeUrl = one("store-url");
  const link = new StoreLink(
    storeUrl ? new RemoteStore(storeUrl) : new MemoryStore(),
    { failAfterMs: Number(one("store-fail-ms") ?? 1000) },
  );
  const server = await SimApiServer.start({
    hostname: one("host") ?? "127.0.0.1",
    port: Number(one("port") ?? 6443),
    plainHttp,
    cert: pki?.serverCert,
    key: pki?.serverKey,
    tokens: tokensOf(flags),
    anonymous: (one("anonymous") ?? "allow") as AnonymousMode,
    failing: unready ? unready.split(",").filter(Boolean) : [],
    delayMs: Number(one("delay-ms") ?? 0),
    routes: [
      leaseRoutes({
        store: link,
        rbac: { [HA_VIP_USER]: ["get", "create", "update"] },
      }),
      discoveryRoutes(),
    ],
  });
  return { server, link, caCertFile: pki?.caCertFile };
}

/** The control endpoint (`--control-port`, -1: none); resolves its URL. */
function serveControl(
  flags: Flags,
  r: Running,
  shutdown: () => void,
  signal: AbortSignal,
): string | undefined {
  const server = r.server;
  const one = (name: string) => flags.get(name)?.at(-1);
  const port = Number(one("control-port") ?? 0);
  if (port < 0) return undefined;
  const control = Deno.serve({
    hostname: one("control-host") ?? server.hostname,
    port,
    signal,
    onListen: () => {},
  }, controlHandler(r, shutdown));
  const a = control.addr;
  return `http://${
    a.hostname.includes(":") ? `[${a.hostname}]` : a.hostname
  }:${a.port}`;
}

/** Applies `path` (a JSON ControlCommand) whenever it changes, every 100 ms. */
function pollControlFile(
  path: string,
  r: Running,
  stopped: () => boolean,
): void {
  let last = "";
  const poll = async () => {
    if (stopped()) return;
    try {
      const text = await Deno.readTextFile(path);
      if (text !== last && text.trim() !== "") {
        last = text;
        await applyControl(r, JSON.parse(text));
        console.log(
          JSON.stringify({ event: "control", state: stateOf(r) }),
        );
      }
    } catch {
      // missing or half-written: try again
    }
    if (!stopped()) setTimeout(poll, 100);
  };
  poll();
}

async function main(args: string[]): Promise<number> {
  let flags: Flags;
  try {
    flags = parseArgs(args);
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (flags.has("help")) {
    console.log(USAGE);
    return 0;
  }
  const { server, link, caCertFile } = await startServer(flags);
  const running: Running = { server, link };
  let stopped = false;
  const stopControl = new AbortController();
  const done = Promise.withResolvers<void>();
  const shutdown = () => {
    if (stopped) return;
    stopped = true;
    stopControl.abort();
    server.close().then(() => done.resolve());
  };
  const controlUrl = serveControl(
    flags,
    running,
    shutdown,
    stopControl.signal,
  );
  const controlFile = flags.get("control-file")?.at(-1);
  if (controlFile) pollControlFile(controlFile, running, () => stopped);
  watchStoreHealth(server, link, {
    unreadyAfterMs: Number(flags.get("store-unready-ms")?.at(-1) ?? 2000),
    signal: stopControl.signal,
    // The lab narrates it: a node's API server that lost its "etcd".
    onChange: (failing) =>
      console.log(JSON.stringify({ event: "store", reachable: !failing })),
  });
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(sig, shutdown);
  }
  console.log(JSON.stringify({
    event: "listening",
    url: server.url,
    control: controlUrl,
    controlFile,
    caCertFile,
    tlsServerName: server.plainHttp ? undefined : "kubernetes",
  }));
  await done.promise;
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    Deno.removeSignalListener(sig, shutdown);
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));

/**
 * The lab's one "etcd": a {@link MemoryStore} served over plain HTTP to the
 * simulated API servers of every node (`api_server_main.ts --store-url`).
 *
 * ```sh
 * deno run -A testing/api_store_main.ts --host 10.254.7.3 --port 2379
 * ```
 *
 * Prints one JSON line `{"event":"listening","url":...}`; SIGTERM/SIGINT
 * stop it.
 *
 * @module
 */

import { MemoryStore, serveStore } from "./api_store.ts";

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(args: string[]): Promise<number> {
  if (args.includes("--help")) {
    console.log(
      "usage: deno run -A testing/api_store_main.ts [--host ADDR] [--port N]",
    );
    return 0;
  }
  const stop = new AbortController();
  const server = serveStore(new MemoryStore(), {
    hostname: flag(args, "host") ?? "127.0.0.1",
    port: Number(flag(args, "port") ?? 2379),
    signal: stop.signal,
  });
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(sig, () => stop.abort());
  }
  const a = server.addr;
  console.log(JSON.stringify({
    event: "listening",
    url: `http://${a.hostname}:${a.port}`,
  }));
  await server.finished;
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));

/**
 * The daemon's end of the control channel: a unix stream socket (FFI, so
 * that the peer's credentials can be checked with `SO_PEERCRED`), mode
 * 0600 in a directory of mode 0700, one request per connection. Only root
 * and the daemon's own user are served.
 *
 * @module
 */

import {
  AF_UNIX,
  openSocket,
  SOCK_STREAM,
  sockaddrUn,
  type Socket,
} from "../sys/mod.ts";
import { type ControlPeer, describePeer, refusePeer } from "./_authorize.ts";
import {
  type ControlRequest,
  type ControlResponse,
  encodeResponse,
  MAX_LINE_BYTES,
  parseRequest,
} from "./_protocol.ts";

/** A request handler: what the daemon does for a client. */
export type ControlHandler = (
  request: ControlRequest,
  peer: ControlPeer,
) => Promise<ControlResponse>;

/** Options of {@link openControlServer}. */
export interface ControlServerOptions {
  /** Path of the socket, e.g. `/run/ha-vip/control.sock`. */
  path: string;
  /** Serves one request. */
  handle: ControlHandler;
  /** Told about refused peers and broken requests (log them). */
  onProblem?: (message: string) => void;
  /** The service user (default: the uid the daemon runs as). */
  serviceUid?: number;
}

/** A running control server. */
export interface ControlServer extends AsyncDisposable {
  /** The socket path. */
  readonly path: string;
  /** Stops accepting, waits for requests in progress, removes the socket. */
  close(): Promise<void>;
}

/** A control socket that cannot be set up (exit 1, one line). */
export class ControlSocketError extends Error {
  /** `message` names the path and the fix. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ControlSocketError";
  }
}

/** What {@link readLine} says when the client closed without a byte. */
const CLOSED_EARLY = "the client closed without a request";

/** How long a client has to send its request line. */
const READ_TIMEOUT_MS = 2000;
/** How long an answer may take to leave. */
const WRITE_TIMEOUT_MS = 2000;

function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

/**
 * Makes `path` free for a new socket: creates its directory (mode 0700)
 * when missing, removes a stale socket of a dead daemon, refuses a live
 * one (another ha-vip) and anything that is not a socket.
 */
async function preparePath(path: string): Promise<void> {
  const dir = parentOf(path);
  // Only when missing: the unit's RuntimeDirectory= is there already.
  const exists = await Deno.stat(dir).then(() => true, () => false);
  if (!exists) await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw err;
  }
  if (!info.isSocket) {
    throw new ControlSocketError(
      `control socket ${path} exists and is not a socket; remove it or set control.socket to another path`,
    );
  }
  try {
    const conn = await Deno.connect({ transport: "unix", path });
    conn.close();
  } catch {
    // Nobody listens: a dead daemon's socket.
    await Deno.remove(path);
    return;
  }
  throw new ControlSocketError(
    `control socket ${path} is in use by another running ha-vip; set control.socket to another path`,
  );
}

/**
 * Opens the control socket and serves requests until closed. Throws a
 * {@link ControlSocketError} (path in use, not a socket) or a `SysError`.
 */
export async function openControlServer(
  options: ControlServerOptions,
): Promise<ControlServer> {
  const { path } = options;
  const address = sockaddrUn(path); // a bad path fails before any change
  await preparePath(path);
  const sock = openSocket(AF_UNIX, SOCK_STREAM, 0);
  let ino: number | null;
  try {
    sock.bind(address);
    await Deno.chmod(path, 0o600);
    ino = (await Deno.lstat(path)).ino;
    sock.listen(16);
  } catch (err) {
    sock.close();
    throw err;
  }
  const serviceUid = options.serviceUid ?? Deno.uid() ?? 0;
  const stop = new AbortController();
  const inFlight = new Set<Promise<void>>();
  const loop = (async () => {
    while (!stop.signal.aborted) {
      let conn: Socket | null;
      try {
        conn = await sock.accept({ timeoutMs: 1000, signal: stop.signal });
      } catch (err) {
        options.onProblem?.(
          `control socket accept failed: ${
            err instanceof Error ? err.message : err
          }`,
        );
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (conn === null) continue;
      const done = serve(conn, options, serviceUid).finally(() =>
        inFlight.delete(done)
      );
      inFlight.add(done);
    }
  })();
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      stop.abort();
      await loop;
      await Promise.allSettled([...inFlight]);
      sock.close();
      try {
        // Only our own socket: a successor may already have its own there.
        if ((await Deno.lstat(path)).ino === ino) await Deno.remove(path);
      } catch {
        // Already gone.
      }
    })();
  return { path, close, [Symbol.asyncDispose]: close };
}

async function serve(
  conn: Socket,
  options: ControlServerOptions,
  serviceUid: number,
): Promise<void> {
  try {
    const peer = conn.peerCredentials();
    // Read the request first in every case: closing with unread data would
    // reset the connection before the client could read the answer.
    const line = await readLine(conn);
    // A connect-and-close without a word is another daemon checking whether
    // this socket is alive (preparePath): nothing to answer or report.
    if (typeof line !== "string" && line.error === CLOSED_EARLY) return;
    const refused = refusePeer(peer, serviceUid);
    if (refused !== undefined) {
      options.onProblem?.(`control request refused: ${refused}`);
      await write(conn, {
        ok: false,
        message: `permission denied: ${refused}`,
      });
      return;
    }
    if (typeof line !== "string") {
      options.onProblem?.(
        `control request from ${describePeer(peer)}: ${line.error}`,
      );
      await write(conn, { ok: false, message: line.error });
      return;
    }
    const request = parseRequest(line);
    if ("error" in request) {
      await write(conn, { ok: false, message: request.error });
      return;
    }
    let response: ControlResponse;
    try {
      response = await options.handle(request, peer);
    } catch (err) {
      response = {
        ok: false,
        message: `failed: ${err instanceof Error ? err.message : String(err)}`,
      };
    }
    await write(conn, response);
  } catch (err) {
    options.onProblem?.(
      `control connection failed: ${err instanceof Error ? err.message : err}`,
    );
  } finally {
    conn.close();
  }
}

async function readLine(conn: Socket): Promise<string | { error: string }> {
  const deadline = performance.now() + READ_TIMEOUT_MS;
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const left = deadline - performance.now();
    if (left <= 0) return { error: "no request line within 2 s" };
    const got = await conn.recv({ timeoutMs: left, maxBytes: MAX_LINE_BYTES });
    if (got === null) return { error: "no request line within 2 s" };
    if (got.data.length === 0) {
      return { error: CLOSED_EARLY };
    }
    chunks.push(got.data);
    size += got.data.length;
    const all = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.length;
    }
    const nl = all.indexOf(0x0a);
    if (nl >= 0) return new TextDecoder().decode(all.subarray(0, nl));
    if (size >= MAX_LINE_BYTES) {
      return { error: `the request is longer than ${MAX_LINE_BYTES} bytes` };
    }
  }
}

async function write(conn: Socket, response: ControlResponse): Promise<void> {
  let bytes = encodeResponse(response);
  const deadline = performance.now() + WRITE_TIMEOUT_MS;
  while (bytes.length > 0) {
    try {
      bytes = bytes.subarray(conn.sendTo(bytes));
    } catch (err) {
      if (performance.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

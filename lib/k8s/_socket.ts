/**
 * Connections the `node:http` client runs over.
 *
 * Verified TLS is Deno's own: `Deno.connect` to the URL's address, then
 * `Deno.startTls({ hostname: tlsServerName, caCerts })`, which checks the
 * chain against the cluster CA *and* the certificate against the configured
 * name (a kubeadm certificate has no 127.0.0.1 SAN), with rustls' precise
 * reasons (expired, unknown issuer, name mismatch). `node:tls` cannot do
 * this: it checks names in JavaScript and refuses an IP address as
 * `servername`. The verified connection is handed to `node:http` through
 * `createConnection`, wrapped in {@link ConnSocket}, a `node:stream`
 * Duplex; `node:http` then does the HTTP/1.1 framing, keep-alive included.
 *
 * Skip-verify (`insecure_skip_tls_verify`) uses `node:tls` with
 * `rejectUnauthorized: false`: Deno's `startTls` can disable only the
 * hostname check, never the chain check (verified on Deno 2.9.6).
 */

import { Duplex } from "node:stream";

/** What a {@link ConnSocket} wraps: a TCP or TLS connection. */
type Conn = Deno.TcpConn | Deno.TlsConn;

const READ_SIZE = 16 * 1024;

/**
 * A `Deno.Conn` as a `node:stream` Duplex, enough for `node:http`'s
 * `createConnection`. Reads while flowing, so a connection the server closes
 * while idle ends (and leaves the pool) at once. A TLS peer that closes
 * without `close_notify` (Go's servers do) is an ordinary end of stream.
 */
export class ConnSocket extends Duplex {
  readonly #conn: Conn;
  #reading = false;

  /** Wraps an open connection (TLS already handshaken). */
  constructor(conn: Conn) {
    super({ allowHalfOpen: false });
    this.#conn = conn;
  }

  override _read(): void {
    if (this.#reading) return;
    this.#reading = true;
    this.#pump().catch((err) => this.destroy(err));
  }

  async #pump(): Promise<void> {
    for (;;) {
      const buf = new Uint8Array(READ_SIZE);
      let n: number | null;
      try {
        n = await this.#conn.read(buf);
      } catch (err) {
        if (this.destroyed) return;
        if ((err as Error)?.name !== "UnexpectedEof") throw err;
        n = null;
      }
      if (n === null) {
        this.push(null);
        return;
      }
      if (!this.push(buf.subarray(0, n))) {
        this.#reading = false;
        return;
      }
    }
  }

  override _write(
    chunk: Uint8Array,
    _encoding: string,
    callback: (err?: Error | null) => void,
  ): void {
    this.#writeAll(chunk).then(() => callback(), callback);
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) {
      off += await this.#conn.write(bytes.subarray(off));
    }
  }

  override _final(callback: (err?: Error | null) => void): void {
    callback(); // the connection is closed in _destroy
  }

  override _destroy(
    err: Error | null,
    callback: (err: Error | null) => void,
  ): void {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    callback(err);
  }

  /** Part of the socket interface `node:http` calls; set at connect time. */
  setNoDelay(): this {
    return this;
  }

  /** Part of the socket interface `node:http` calls; not used. */
  setKeepAlive(): this {
    return this;
  }

  /** Part of the socket interface `node:http` calls; the client keeps its own timer. */
  setTimeout(): this {
    return this;
  }

  /** Lets the pending read keep the process alive again (in use). */
  ref(): this {
    this.#conn.ref();
    return this;
  }

  /** An idle connection does not keep the process alive. */
  unref(): this {
    this.#conn.unref();
    return this;
  }
}

/** Where and how to connect. */
export interface ConnectOptions {
  hostname: string;
  port: number;
  /** Aborts connect and handshake (the connection is closed). */
  signal: AbortSignal;
  /** Called with each phase as it starts (for timeout messages). */
  onPhase: (phase: "connect" | "tls") => void;
}

/**
 * A TCP connection with Nagle off. Without it, the request waits behind the
 * unacknowledged TLS Finished record until the peer's delayed ACK (about
 * 40 ms per request).
 */
async function connectTcp(o: ConnectOptions): Promise<Deno.TcpConn> {
  o.onPhase("connect");
  const tcp = await Deno.connect({
    hostname: o.hostname,
    port: o.port,
    signal: o.signal,
  });
  tcp.setNoDelay(true);
  return tcp;
}

/** Closes `conn` when `signal` aborts while `step` runs. */
async function closingOnAbort<T>(
  conn: { close(): void },
  signal: AbortSignal,
  step: () => Promise<T>,
): Promise<T> {
  const close = () => {
    try {
      conn.close();
    } catch {
      // already closed
    }
  };
  if (signal.aborted) close();
  signal.addEventListener("abort", close, { once: true });
  try {
    const out = await step();
    signal.throwIfAborted();
    return out;
  } catch (err) {
    close();
    throw err;
  } finally {
    signal.removeEventListener("abort", close);
  }
}

/** Plain HTTP (tests, development). */
export async function connectPlain(o: ConnectOptions): Promise<ConnSocket> {
  const tcp = await connectTcp(o);
  if (o.signal.aborted) {
    tcp.close();
    throw o.signal.reason;
  }
  return new ConnSocket(tcp);
}

/**
 * TLS verified against `serverName` and `caCerts` (the system roots when
 * undefined). The handshake completes here, so certificate errors surface
 * in the "tls" phase.
 */
export async function connectVerifiedTls(
  o: ConnectOptions & { serverName: string; caCerts?: string[] },
): Promise<ConnSocket> {
  const tcp = await connectTcp(o);
  return await closingOnAbort(tcp, o.signal, async () => {
    o.onPhase("tls");
    const tls = await Deno.startTls(tcp, {
      hostname: o.serverName,
      caCerts: o.caCerts,
    });
    return await closingOnAbort(tls, o.signal, async () => {
      await tls.handshake();
      return new ConnSocket(tls);
    });
  });
}

function isIpLiteral(name: string): boolean {
  return /^[\d.]+$/.test(name) || name.includes(":");
}

/** The part of `node:tls`'s TLSSocket used here. */
export type NodeTlsSocket = Duplex & {
  setNoDelay(noDelay?: boolean): unknown;
};

/**
 * TLS *without any certificate verification* (chain or name), for
 * `insecure_skip_tls_verify`. Rejects with node's error (ECONNREFUSED, ...)
 * or on abort.
 */
export async function connectUnverifiedTls(
  o: ConnectOptions & { serverName: string },
): Promise<NodeTlsSocket> {
  const tls = await import("node:tls");
  o.onPhase("tls");
  return await new Promise<NodeTlsSocket>((resolve, reject) => {
    const sock = tls.connect({
      host: o.hostname,
      port: o.port,
      // SNI must not be an IP address.
      servername: isIpLiteral(o.serverName) ? undefined : o.serverName,
      rejectUnauthorized: false,
    });
    sock.setNoDelay(true); // see connectTcp
    const onAbort = () => {
      sock.destroy();
      reject(new DOMException("aborted", "AbortError"));
    };
    if (o.signal.aborted) return onAbort();
    o.signal.addEventListener("abort", onAbort, { once: true });
    sock.once("secureConnect", () => {
      o.signal.removeEventListener("abort", onAbort);
      sock.removeAllListeners("error");
      resolve(sock as unknown as NodeTlsSocket);
    });
    sock.once("error", (err) => {
      o.signal.removeEventListener("abort", onAbort);
      sock.destroy();
      reject(err);
    });
  });
}

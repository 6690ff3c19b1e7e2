/**
 * Byte streams the HTTP/1.1 client runs over: a Deno TCP/TLS connection, or
 * a `node:tls` socket for `insecureSkipTlsVerify`.
 *
 * Why node:tls for skip-verify: Deno 2.9's `Deno.connectTls` / `startTls`
 * can disable only the *hostname* check
 * (`unsafelyDisableHostnameVerification`), never the chain check, and
 * `Deno.createHttpClient` has no option at all (only the process-wide
 * `--unsafely-ignore-certificate-errors` flag). `node:tls` with
 * `rejectUnauthorized: false` skips both, per connection (verified on
 * Deno 2.9.6 against a self-signed server).
 */

/** The part of `Deno.Conn` the client needs. */
export interface ByteStream {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  close(): void;
}

/** Writes all of `bytes` (a `write` may be partial). */
export async function writeAll(
  stream: ByteStream,
  bytes: Uint8Array,
): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await stream.write(bytes.subarray(off));
}

const HIGH_WATER = 256 * 1024;

// The structural subset of node's TLSSocket used here.
interface NodeSocket {
  on(event: string, fn: (arg?: unknown) => void): unknown;
  once(event: string, fn: (arg?: unknown) => void): unknown;
  removeAllListeners(event?: string): unknown;
  write(data: Uint8Array, cb: (err?: Error | null) => void): boolean;
  pause(): unknown;
  resume(): unknown;
  destroy(): unknown;
  setNoDelay?(noDelay: boolean): unknown;
}

/** Adapts a node socket (events) to pull-style reads. */
class NodeSocketStream implements ByteStream {
  #sock: NodeSocket;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #ended = false;
  #error?: Error;
  #wake?: () => void;

  constructor(sock: NodeSocket) {
    this.#sock = sock;
    sock.on("data", (d) => {
      const bytes = new Uint8Array(d as Uint8Array);
      this.#queue.push(bytes);
      this.#queued += bytes.length;
      // Backpressure: stop reading from the kernel while we lag behind.
      if (this.#queued > HIGH_WATER) sock.pause();
      this.#notify();
    });
    sock.on("end", () => this.#finish());
    sock.on("close", () => this.#finish());
    sock.on("error", (e) => {
      this.#error = e as Error;
      this.#notify();
    });
  }

  #finish(): void {
    this.#ended = true;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async read(p: Uint8Array): Promise<number | null> {
    while (this.#queue.length === 0 && !this.#ended && !this.#error) {
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    if (this.#queue.length > 0) {
      const head = this.#queue[0];
      const n = Math.min(p.length, head.length);
      p.set(head.subarray(0, n));
      if (n === head.length) this.#queue.shift();
      else this.#queue[0] = head.subarray(n);
      this.#queued -= n;
      if (this.#queued <= HIGH_WATER / 2) this.#sock.resume();
      return n;
    }
    if (this.#error) throw this.#error;
    return null;
  }

  write(p: Uint8Array): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#sock.write(p, (err) => err ? reject(err) : resolve(p.length));
    });
  }

  close(): void {
    this.#sock.destroy();
    this.#finish();
  }
}

/** Options of {@link connectUnverifiedTls}. */
export interface UnverifiedTlsOptions {
  hostname: string;
  port: number;
  /** Sent as SNI when it is a DNS name (SNI must not be an IP address). */
  serverName: string;
  signal: AbortSignal;
}

function isIpLiteral(name: string): boolean {
  return /^[\d.]+$/.test(name) || name.includes(":");
}

/**
 * Connects with TLS *without any certificate verification* (chain or name).
 * Rejects with node's error (ECONNREFUSED, ...) or on abort.
 */
export async function connectUnverifiedTls(
  options: UnverifiedTlsOptions,
): Promise<ByteStream> {
  const tls = await import("node:tls");
  return await new Promise<ByteStream>((resolve, reject) => {
    const sock = tls.connect({
      host: options.hostname,
      port: options.port,
      servername: isIpLiteral(options.serverName)
        ? undefined
        : options.serverName,
      rejectUnauthorized: false,
    }) as unknown as NodeSocket;
    sock.setNoDelay?.(true); // see the Nagle note in client.ts
    const onAbort = () => {
      sock.destroy();
      reject(new DOMException("aborted", "AbortError"));
    };
    if (options.signal.aborted) return onAbort();
    options.signal.addEventListener("abort", onAbort, { once: true });
    sock.once("secureConnect", () => {
      options.signal.removeEventListener("abort", onAbort);
      sock.removeAllListeners("error");
      resolve(new NodeSocketStream(sock));
    });
    sock.once("error", (err) => {
      options.signal.removeEventListener("abort", onAbort);
      sock.destroy();
      reject(err);
    });
  });
}

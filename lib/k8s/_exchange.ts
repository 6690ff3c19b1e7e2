/**
 * One HTTP/1.1 exchange over an open connection, by `node:http`: the
 * request is written, the response read whole within the size limits, and
 * the connection reported reusable when the server keeps it alive.
 *
 * `node:http` does the framing (Content-Length, chunked, read-until-close,
 * bodyless responses, 1xx) and rejects malformed responses (`HPE_*`
 * errors); this module adds the limits and turns the outcome into plain
 * values.
 */

import http from "node:http";
import type { Duplex } from "node:stream";
import { ProtocolError } from "./_errors.ts";

/** RFC 9110 token characters (methods, header names). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Headers only the client sets. */
const RESERVED =
  /^(host|content-length|transfer-encoding|connection|authorization|user-agent)$/i;

/** A request to send. */
export interface Exchange {
  method: string;
  /** Origin-form target: `/path?query`. */
  target: string;
  /** `host` and `port` for the Host header. */
  hostname: string;
  port: number;
  /** Header name → value; checked by {@link checkHeaders}. */
  headers: Record<string, string>;
  body?: Uint8Array;
  /** Response body limit, bytes. */
  maxBodyBytes: number;
  /** Response head limit, bytes. */
  maxHeaderBytes: number;
  /** Destroys the exchange (and the connection). */
  signal: AbortSignal;
  /** Called once the request is written (the response phase begins). */
  onWritten: () => void;
  /** Called when the response head has arrived. */
  onResponse?: () => void;
}

/** A complete response. */
export interface Received {
  status: number;
  statusText: string;
  /** `[name, value]` pairs, names lower-cased, in arrival order. */
  headers: [string, string][];
  body: Uint8Array;
  /** The server keeps the connection open for another request. */
  reusable: boolean;
}

/**
 * Checks a request target and caller headers; throws `TypeError` naming
 * the header, never its value (it may be a credential).
 */
export function checkHeaders(
  method: string,
  target: string,
  headers: Record<string, string>,
): void {
  if (!TOKEN.test(method)) {
    throw new TypeError(`invalid HTTP method "${method}"`);
  }
  if (!/^\/[\x21-\x7e]*$/.test(target)) {
    throw new TypeError(
      "request target must start with / and contain only visible ASCII",
    );
  }
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name)) throw new TypeError(`invalid header name "${name}"`);
    if (/[\r\n\0]/.test(value)) {
      throw new TypeError(`header ${name} contains CR, LF or NUL`);
    }
  }
}

/** Whether a caller may set header `name` (the client owns framing and identity). */
export function isReservedHeader(name: string): boolean {
  return RESERVED.test(name);
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

function pairs(raw: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    out.push([raw[i].toLowerCase(), raw[i + 1]]);
  }
  return out;
}

/**
 * Reads the whole body of `res` within `max` bytes; rejects with a
 * {@link ProtocolError} beyond it (the connection is then destroyed by
 * the caller) or when the response ends early.
 */
function readBody(res: http.IncomingMessage, max: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const declared = Number(res.headers["content-length"]);
    if (Number.isFinite(declared) && declared > max) {
      return reject(
        new ProtocolError(
          `response body of ${declared} bytes exceeds the limit of ${max}`,
        ),
      );
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    res.on("data", (chunk: Uint8Array) => {
      size += chunk.length;
      if (size > max) {
        reject(
          new ProtocolError(`response body exceeds the limit of ${max} bytes`),
        );
        res.destroy();
        return;
      }
      chunks.push(chunk);
    });
    res.on("error", reject);
    res.on("aborted", () => reject(new ProtocolError("response ended early")));
    res.on("end", () => resolve(concat(chunks, size)));
  });
}

/**
 * Sends `x` over `socket` and reads the response. Rejects with the error of
 * `node:http` (`HPE_*` codes for malformed responses, `ECONNRESET` for a
 * closed connection), a {@link ProtocolError} for a limit, or the abort
 * reason; the connection is then destroyed.
 */
export function exchange(socket: Duplex, x: Exchange): Promise<Received> {
  return new Promise<Received>((resolve, reject) => {
    // `node:http` keeps a connection by emitting the request's "close" and
    // then the socket's "free" (on a later tick than the response's "end").
    let freed = false;
    let closed = false;
    let done: ((reusable: boolean) => void) | undefined;
    const onFree = () => {
      freed = true;
      done?.(true);
    };
    socket.once("free", onFree);
    const req = http.request({
      method: x.method,
      host: x.hostname,
      port: x.port,
      path: x.target,
      headers: x.headers,
      maxHeaderSize: x.maxHeaderBytes,
      createConnection: () => socket,
    } as http.RequestOptions);
    const cleanup = () => {
      socket.off("free", onFree);
      x.signal.removeEventListener("abort", onAbort);
    };
    const fail = (err: unknown) => {
      cleanup();
      req.destroy();
      socket.destroy();
      reject(err);
    };
    const onAbort = () => fail(x.signal.reason);
    x.signal.addEventListener("abort", onAbort, { once: true });
    req.on("error", fail);
    req.on("finish", x.onWritten);
    req.on("close", () => {
      closed = true;
      queueMicrotask(() => done?.(freed));
    });
    req.on("response", (res: http.IncomingMessage) => {
      x.onResponse?.();
      readBody(res, x.maxBodyBytes).then((body) => {
        done = (reusable) => {
          done = undefined;
          cleanup();
          resolve({
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? "",
            headers: pairs(res.rawHeaders),
            body,
            reusable: reusable && !socket.destroyed,
          });
        };
        // Not kept (`Connection: close` either way): the caller closes it.
        if (!req.shouldKeepAlive || freed) done(freed);
        else if (closed) queueMicrotask(() => done?.(freed));
      }, fail);
    });
    req.end(x.body);
  });
}

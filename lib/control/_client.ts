/**
 * The command's end of the control channel: connect, send one request,
 * read one response. Errors say what the operator should do.
 *
 * @module
 */

import {
  type ControlRequest,
  type ControlResponse,
  encodeRequest,
  MAX_LINE_BYTES,
  parseResponse,
} from "./_protocol.ts";

/** The daemon could not be asked (no socket, no permission, no answer). */
export class ControlClientError extends Error {
  /** `message` names the socket and what to check. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ControlClientError";
  }
}

/**
 * Sends `request` to the daemon listening on `path` and resolves its
 * answer. Waits up to `timeoutMs` for it (a handoff answers once the VIP
 * has moved). Throws a {@link ControlClientError}.
 */
export async function controlRequest(
  path: string,
  request: ControlRequest,
  options: { timeoutMs: number },
): Promise<ControlResponse> {
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path });
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound
      ? "no such socket: is ha-vip running, with this control.socket?"
      : err instanceof Deno.errors.PermissionDenied
      ? "permission denied: run this as root or as the user ha-vip runs as"
      : err instanceof Deno.errors.ConnectionRefused
      ? "nobody listens on it: ha-vip is not running"
      : err instanceof Error
      ? err.message
      : String(err);
    throw new ControlClientError(`cannot reach ha-vip at ${path}: ${why}`, {
      cause: err,
    });
  }
  const timer = setTimeout(() => conn.close(), options.timeoutMs);
  try {
    await conn.write(encodeRequest(request));
    const buf = new Uint8Array(MAX_LINE_BYTES);
    let size = 0;
    while (size < buf.length) {
      const n = await conn.read(buf.subarray(size));
      if (n === null) break;
      size += n;
      if (buf.subarray(0, size).includes(0x0a)) break;
    }
    const text = new TextDecoder().decode(buf.subarray(0, size));
    const line = text.split("\n")[0];
    if (line === "") {
      throw new ControlClientError(
        `ha-vip at ${path} gave no answer within ${options.timeoutMs} ms`,
      );
    }
    return parseResponse(line);
  } catch (err) {
    if (err instanceof ControlClientError) throw err;
    throw new ControlClientError(
      `ha-vip at ${path} gave no answer within ${options.timeoutMs} ms`,
      { cause: err },
    );
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // Closed by the timer.
    }
  }
}

/**
 * The local control channel of a running daemon (`ha-vip handoff`): a unix
 * socket under `/run/ha-vip/` that only root and the daemon's own user may
 * use (mode 0600, and the peer's credentials checked with `SO_PEERCRED`),
 * never the metrics port. One JSON request line, one JSON response line.
 *
 * ```ts
 * import { controlRequest } from "./lib/control/mod.ts";
 * const answer = await controlRequest("/run/ha-vip/control.sock",
 *   { op: "handoff", forMs: 600_000 }, { timeoutMs: 30_000 });
 * ```
 *
 * @module
 */

export { type ControlPeer, describePeer, refusePeer } from "./_authorize.ts";
export {
  type ControlRequest,
  type ControlResponse,
  encodeRequest,
  encodeResponse,
  type HandoffState,
  MAX_HANDOFF_MS,
  MAX_LINE_BYTES,
  parseRequest,
  parseResponse,
} from "./_protocol.ts";
export {
  type ControlHandler,
  type ControlServer,
  type ControlServerOptions,
  ControlSocketError,
  openControlServer,
} from "./_server.ts";
export { ControlClientError, controlRequest } from "./_client.ts";

/** Where the daemon listens unless `control.socket` says otherwise. */
export const DEFAULT_CONTROL_SOCKET = "/run/ha-vip/control.sock";

/**
 * Who may use the control channel: root, or the user the daemon runs as
 * (its service user). Pure.
 *
 * @module
 */

/** The peer of a control connection, from `SO_PEERCRED`. */
export interface ControlPeer {
  /** Process id of the client. */
  pid: number;
  /** Its effective user id. */
  uid: number;
  /** Its effective group id. */
  gid: number;
}

/** Why `peer` may not use the channel, or undefined when it may. */
export function refusePeer(
  peer: ControlPeer,
  serviceUid: number,
): string | undefined {
  if (peer.uid === 0 || peer.uid === serviceUid) return undefined;
  return `uid ${peer.uid} (pid ${peer.pid}) is neither root nor the service user (uid ${serviceUid})`;
}

/** `uid 0, pid 1234`: who asked, for logs and `/status`. */
export function describePeer(peer: ControlPeer): string {
  return `uid ${peer.uid}, pid ${peer.pid}`;
}

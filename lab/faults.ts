/**
 * Fault drivers: what each scenario event does to a node. The model changes
 * first ({@link applyToModel}), so the runner can start watching for the
 * expected outcome before the action itself ({@link performFault}); a
 * partition is then followed on the isolated node's side
 * ({@link watchIsolated}).
 *
 * @module
 */

import type { NodeState } from "./daemons.ts";
import { checkFatal, eligible, type Run } from "./run.ts";
import type { EventKind, ScenarioEvent } from "./scenario_types.ts";
import { nowMs } from "./topology.ts";
import { fmtS, sleep } from "./util.ts";

/** What an action did. */
export interface FaultAction {
  /** `node1 crashed (SIGKILL)` and the like. */
  label: string;
  /** When it happened (epoch ms): the fatal signal, the SIGTERM, the cut. */
  at: number;
  /** Expected observations for this implementation. */
  notes: string[];
}

/**
 * The node an event acts on: `node2`, `holder` (whoever holds the VIP then),
 * `backup` (the node that would take over from the holder) or `previous`.
 */
export function resolveNode(
  run: Run,
  ev: ScenarioEvent,
  holder: NodeState | null,
  previous: string | null,
): string {
  const want = ev.node ??
    ([
        "crash",
        "die",
        "unready",
        "stop",
        "cut",
        "partition",
        "steady",
        "apidown",
        "storeloss",
        "handoff",
      ].includes(ev.kind)
      ? "holder"
      : "previous");
  if (want === "backup") {
    const b = run.nodes.filter((x) => x !== holder && eligible(run, x))
      .sort((x, y) => y.priority - x.priority);
    if (b.length) return b[0].host.name;
    throw new Error(`${ev.kind}: no backup to act on`);
  }
  if (want === "holder") {
    if (holder) return holder.host.name;
    if (ev.kind === "steady") return run.nodes[0].host.name;
    throw new Error(`${ev.kind}: no single holder to act on`);
  }
  if (want === "previous") {
    if (previous === null) throw new Error(`${ev.kind}: no previous event`);
    return previous;
  }
  return want;
}

/**
 * Updates the lab's model of `n` for `kind` (before the action). A handoff
 * steps `n` out only when another node is eligible (`run`'s model): with
 * none, the daemon cancels it and keeps the VIP.
 */
export function applyToModel(n: NodeState, kind: EventKind, run?: Run): void {
  switch (kind) {
    case "handoff":
      n.steppedOut = run === undefined ||
        run.nodes.some((x) => x !== n && eligible(run, x));
      break;
    case "handback":
      n.steppedOut = false;
      break;
    case "crash":
    case "stop":
    case "die":
      n.running = false;
      break;
    case "restart":
    case "start":
    case "revive":
      n.running = true;
      n.steppedOut = false; // a restart ends a handoff
      break;
    case "unready":
    case "ready":
      n.ready = kind === "ready";
      break;
    case "apidown":
    case "apiup":
      n.apiUp = kind === "apiup";
      break;
    case "storeloss":
    case "storeback":
      n.storeUp = kind === "storeback";
      break;
    case "cut":
    case "partition":
      if (n.offline !== null) {
        throw new Error(
          `${kind}: ${n.host.name} is already cut off (${n.offline})`,
        );
      }
      n.linked = false;
      n.offline = kind;
      break;
    case "restore":
    case "heal": {
      const want = kind === "restore" ? "cut" : "partition";
      if (n.offline !== want) {
        throw new Error(
          `${kind}: ${n.host.name} is not ${
            want === "cut" ? "cut" : "partitioned"
          } (${kind} undoes ${want})`,
        );
      }
      n.linked = true;
      n.offline = null;
      break;
    }
  }
}

/** Starts `n`'s daemon and fails the run if it dies on its own. */
export async function startDaemon(run: Run, n: NodeState): Promise<void> {
  await run.driver.start(n);
  const d = n.daemon!;
  d.status.then(async (st) => {
    if (n.daemon !== d || !n.running || run.closing) return; // expected
    const text = `${run.impl} exited unexpectedly (code ${st.code}${
      st.signal ? `, ${st.signal}` : ""
    })`;
    run.say(n.host.name, `${text}; see ${d.logFile}`);
    const tail = (await Deno.readTextFile(d.logFile).catch(() => ""))
      .trimEnd().split("\n").slice(-15).join("\n");
    run.fatal ??= new Error(`${n.host.name}: ${text}; its log ends:\n${tail}`);
  });
}

async function signalDaemon(
  run: Run,
  n: NodeState,
  kind: "crash" | "stop",
): Promise<FaultAction> {
  const who = n.host.name;
  run.say(
    "lab",
    kind === "crash"
      ? `${who} crashes (SIGKILL)`
      : `${who} stops (SIGTERM, planned)`,
  );
  const r = kind === "crash"
    ? await run.driver.crash(n)
    : await run.driver.stop(n);
  // The crash line carries the moment of the signal; the stop line is
  // stamped when the daemon has exited.
  if (kind === "crash") run.say("lab", r.label, r.at);
  else run.say("lab", r.label);
  return { label: r.label, at: r.at, notes: [] };
}

/**
 * A node dies: its daemon is killed (as a crash), then its interface loses
 * every address, the VIP included, so nothing on it answers for the VIP any
 * more. `at` is the moment of the SIGKILL.
 */
async function killNode(run: Run, n: NodeState): Promise<FaultAction> {
  run.say("lab", `${n.host.name} dies (SIGKILL, then its addresses removed)`);
  const r = await run.driver.crash(n);
  await run.topo.flushAddresses(n.host);
  const label = `${n.host.name} died (SIGKILL; addresses removed after ${
    fmtS(nowMs() - r.at)
  })`;
  run.say("lab", label, r.at);
  return { label, at: r.at, notes: [] };
}

async function switchApiServer(
  run: Run,
  n: NodeState,
  kind: "ready" | "unready",
): Promise<FaultAction> {
  const who = n.host.name;
  const label = kind === "unready"
    ? `${who}'s API server turns unready (etcd failing)`
    : `${who}'s API server is ready again`;
  const at = await run.driver.setReady(n, kind === "ready");
  run.say("lab", label, at);
  const notes = run.driver.healthGated ? [] : [
    `${run.impl} does not check the API server here (no track_script): the VIP does not move`,
  ];
  return { label, at, notes };
}

async function changeLink(
  run: Run,
  n: NodeState,
  kind: "cut" | "restore" | "partition" | "heal",
): Promise<FaultAction> {
  const who = n.host.name;
  const at = nowMs();
  const topo = run.topo;
  const steps = {
    cut: [`${who}'s link cut (carrier loss)`, () => topo.cutLink(n.host)],
    restore: [
      `${who}'s link restored (carrier back)`,
      () => topo.restoreLink(n.host),
    ],
    partition: [
      `${who} partitioned (bridge port disabled, carrier up)`,
      () => topo.partitionLink(n.host),
    ],
    heal: [
      `${who}'s partition heals (bridge port forwarding)`,
      () => topo.healLink(n.host),
    ],
  } as const;
  const [label, act] = steps[kind];
  run.say("lab", label, at);
  await act();
  if (kind === "cut" || kind === "partition") {
    n.linkDown.push({ from: at, to: null });
  } else if (n.linkDown.length) n.linkDown[n.linkDown.length - 1].to = at;
  return { label, at, notes: [] };
}

/** Performs the event's action on `n` (the model is already updated). */
export async function performFault(
  run: Run,
  n: NodeState,
  kind: EventKind,
): Promise<FaultAction> {
  const at = nowMs();
  switch (kind) {
    case "steady": {
      const label = "initial election, then steady state";
      run.say("lab", label, at);
      return { label, at, notes: [] };
    }
    case "crash":
    case "stop":
      return await signalDaemon(run, n, kind);
    case "die":
      return await killNode(run, n);
    case "revive": {
      const label = `${n.host.name} revived (address back, daemon started)`;
      run.say("lab", label, at);
      await run.topo.restoreAddress(n.host);
      await startDaemon(run, n);
      return { label, at, notes: [] };
    }
    case "restart":
    case "start": {
      const label = `${n.host.name} ${
        kind === "start" ? "started" : "restarted"
      }`;
      run.say("lab", label, at);
      await startDaemon(run, n);
      return { label, at, notes: [] };
    }
    case "unready":
    case "ready":
      return await switchApiServer(run, n, kind);
    case "cut":
    case "restore":
    case "partition":
    case "heal":
      return await changeLink(run, n, kind);
    case "apidown":
    case "apiup":
    case "storeloss":
    case "storeback":
      return await switchApiProcessOrStore(run, n, kind);
    case "handoff":
    case "handback":
      return await handoff(run, n, kind);
  }
}

/**
 * `ha-vip handoff --for 10m` (exit 0 once the VIP moved; exit 1 when
 * nobody could take it over: then the model did not step the node out) or
 * `--cancel`. Any other answer fails the run.
 */
async function handoff(
  run: Run,
  n: NodeState,
  kind: "handoff" | "handback",
): Promise<FaultAction> {
  const at = nowMs();
  const args = kind === "handoff" ? ["--for", "10m"] : ["--cancel"];
  run.say("lab", `ha-vip handoff ${args.join(" ")} on ${n.host.name}`, at);
  const r = await run.driver.handoff(n, args);
  const want = kind === "handback" || n.steppedOut ? 0 : 1;
  run.say(n.host.name, `ha-vip handoff: exit ${r.code}: ${r.out}`);
  if (r.code !== want) {
    throw new Error(
      `ha-vip handoff ${
        args.join(" ")
      } on ${n.host.name}: exit ${r.code}, expected ${want}: ${r.out}`,
    );
  }
  const label = `${n.host.name}: ha-vip handoff ${
    args.join(" ")
  } (exit ${r.code})`;
  return { label, at, notes: [] };
}

async function switchApiProcessOrStore(
  run: Run,
  n: NodeState,
  kind: "apidown" | "apiup" | "storeloss" | "storeback",
): Promise<FaultAction> {
  const who = n.host.name;
  const label = {
    apidown: `${who}'s API server process dies (SIGKILL)`,
    apiup: `${who}'s API server process starts again`,
    storeloss:
      `${who}'s API server loses its store (its etcd partitioned away)`,
    storeback: `${who}'s API server reaches its store again`,
  }[kind];
  const at = kind === "apidown" || kind === "apiup"
    ? await run.driver.setApi(n, kind === "apiup")
    : await run.driver.setStore(n, kind === "storeback");
  run.say("lab", label, at);
  const notes = run.driver.healthGated ? [] : [
    `${run.impl} does not check the API server here: the VIP does not move`,
  ];
  return { label, at, notes };
}

/** What a partitioned node did on its own side. */
export interface IsolatedView {
  /** ms from the partition until it held the VIP (0: already; null: never). */
  isolatedHoldMs: number | null;
  /** It still had carrier (checked twice). */
  isolatedCarrier: boolean;
}

/**
 * Partition: the cut-off node keeps carrier, and (running, ready) becomes
 * or stays master on its own side; the heal is only a conflict of two
 * masters once it has.
 */
export async function watchIsolated(
  run: Run,
  isolated: NodeState,
  at: number,
): Promise<IsolatedView> {
  let isolatedCarrier = await run.topo.hasCarrier(isolated.host);
  const canHold = isolated.running &&
    (isolated.ready || !run.driver.healthGated);
  const deadline = nowMs() + 4 * run.A + 3000;
  while (canHold && !isolated.watcher!.holding && nowMs() < deadline) {
    run.options.signal?.throwIfAborted();
    checkFatal(run);
    await sleep(20);
  }
  const held = isolated.watcher!.intervals.find((i) =>
    i.to === null || i.to >= at
  );
  const isolatedHoldMs = held && isolated.watcher!.holding
    ? Math.max(0, held.from - at)
    : null;
  isolatedCarrier = isolatedCarrier &&
    await run.topo.hasCarrier(isolated.host);
  run.say(
    "lab",
    `${isolated.host.name} ${
      isolatedCarrier ? "keeps carrier" : "LOST CARRIER"
    }; ${
      isolatedHoldMs === null
        ? "it does not hold the VIP on its side"
        : isolatedHoldMs === 0
        ? "it still holds the VIP on its side"
        : `it holds the VIP on its side after ${fmtS(isolatedHoldMs)}`
    }`,
  );
  return { isolatedHoldMs, isolatedCarrier };
}

/**
 * The simulated "etcd" behind simulated API servers: objects by key with
 * resourceVersions and compare-and-swap writes, in one process
 * ({@link MemoryStore}) or served over plain HTTP to API servers in other
 * network namespaces ({@link serveStore}, {@link RemoteStore}), so that every
 * node's API server in the lab shares one store.
 *
 * A {@link StoreLink} is one API server's connection to the store. It can be
 * cut ({@link StoreLink.connected} false: the node's "etcd" is partitioned
 * away): then every operation fails after `failAfterMs`, as an API server
 * whose etcd has lost quorum answers `etcdserver: request timed out`, and
 * {@link watchStoreHealth} turns the server's `/readyz` `etcd` check red once
 * the store has been unreachable for `unreadyAfterMs`, green again once it
 * answers.
 *
 * @module
 */

/** A stored object: JSON with `metadata.resourceVersion` set by the store. */
export type StoredObject = Record<string, unknown> & {
  metadata: Record<string, unknown> & { resourceVersion?: string };
};

/** The outcome of a write. */
export type WriteResult =
  | { ok: true; object: StoredObject }
  | { ok: false; reason: "exists" | "notFound" | "conflict" };

/** What every store offers; keys are `group/resource/namespace/name`. */
export interface Store {
  /** The object at `key`, or undefined. */
  get(key: string): Promise<StoredObject | undefined>;
  /** Objects whose key starts with `prefix`, and the store's resourceVersion. */
  list(
    prefix: string,
  ): Promise<{ items: StoredObject[]; resourceVersion: string }>;
  /** Creates `key` (fails with `exists`). */
  create(key: string, object: StoredObject): Promise<WriteResult>;
  /**
   * Replaces `key` if it exists and, when `ifVersion` is given, still has
   * that resourceVersion (`notFound`, `conflict`).
   */
  update(
    key: string,
    object: StoredObject,
    ifVersion?: string,
  ): Promise<WriteResult>;
  /** Deletes `key`, returning what it was (`notFound`). */
  remove(key: string): Promise<WriteResult>;
  /** Whether the store answers (a cheap round trip). */
  ping(): Promise<void>;
}

/** The store is out of reach (or the link to it is cut). */
export class StoreUnavailableError extends Error {
  /** The message an API server without etcd quorum answers with. */
  constructor(message = "etcdserver: request timed out") {
    super(message);
    this.name = "StoreUnavailableError";
  }
}

/** An in-process store: linearizable by construction (one event loop). */
export class MemoryStore implements Store {
  readonly #objects = new Map<string, StoredObject>();
  #version = 1000;

  /** The latest resourceVersion handed out. */
  get resourceVersion(): string {
    return String(this.#version);
  }

  /** Every key (for state summaries). */
  keys(): string[] {
    return [...this.#objects.keys()];
  }

  #stamp(object: StoredObject): StoredObject {
    const copy = structuredClone(object);
    copy.metadata.resourceVersion = String(++this.#version);
    return copy;
  }

  get(key: string): Promise<StoredObject | undefined> {
    const o = this.#objects.get(key);
    return Promise.resolve(o && structuredClone(o));
  }

  list(
    prefix: string,
  ): Promise<{ items: StoredObject[]; resourceVersion: string }> {
    const items = [...this.#objects.entries()]
      .filter(([k]) => k.startsWith(prefix))
      .map(([, o]) => structuredClone(o));
    return Promise.resolve({ items, resourceVersion: this.resourceVersion });
  }

  create(key: string, object: StoredObject): Promise<WriteResult> {
    if (this.#objects.has(key)) {
      return Promise.resolve({ ok: false, reason: "exists" });
    }
    const stored = this.#stamp(object);
    this.#objects.set(key, stored);
    return Promise.resolve({ ok: true, object: structuredClone(stored) });
  }

  update(
    key: string,
    object: StoredObject,
    ifVersion?: string,
  ): Promise<WriteResult> {
    const current = this.#objects.get(key);
    if (!current) return Promise.resolve({ ok: false, reason: "notFound" });
    if (
      ifVersion !== undefined && ifVersion !== current.metadata.resourceVersion
    ) {
      return Promise.resolve({ ok: false, reason: "conflict" });
    }
    const stored = this.#stamp(object);
    this.#objects.set(key, stored);
    return Promise.resolve({ ok: true, object: structuredClone(stored) });
  }

  remove(key: string): Promise<WriteResult> {
    const current = this.#objects.get(key);
    if (!current) return Promise.resolve({ ok: false, reason: "notFound" });
    this.#objects.delete(key);
    return Promise.resolve({ ok: true, object: current });
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }
}

/** One operation on the wire between an API server and the store process. */
type WireOp =
  | { op: "get"; key: string }
  | { op: "list"; prefix: string }
  | { op: "create"; key: string; object: StoredObject }
  | { op: "update"; key: string; object: StoredObject; ifVersion?: string }
  | { op: "remove"; key: string }
  | { op: "ping" };

/**
 * Serves `store` over plain HTTP (`POST /op`, JSON) for API servers in
 * other processes. Returns the server; abort `signal` to stop it.
 */
export function serveStore(
  store: Store,
  options: { hostname: string; port: number; signal?: AbortSignal },
): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({
    hostname: options.hostname,
    port: options.port,
    signal: options.signal,
    onListen: () => {},
  }, async (req) => {
    if (req.method !== "POST" || new URL(req.url).pathname !== "/op") {
      return new Response("not found", { status: 404 });
    }
    const op = await req.json() as WireOp;
    let result: unknown;
    switch (op.op) {
      case "get":
        result = (await store.get(op.key)) ?? null;
        break;
      case "list":
        result = await store.list(op.prefix);
        break;
      case "create":
        result = await store.create(op.key, op.object);
        break;
      case "update":
        result = await store.update(op.key, op.object, op.ifVersion);
        break;
      case "remove":
        result = await store.remove(op.key);
        break;
      case "ping":
        result = "pong";
        break;
      default:
        return new Response("bad op", { status: 400 });
    }
    return Response.json(result);
  });
}

/** A store in another process ({@link serveStore}), over plain HTTP. */
export class RemoteStore implements Store {
  /** `url` is the store's base URL, e.g. `http://10.254.7.3:2379`. */
  constructor(
    /** The store's base URL. */
    readonly url: string,
    /** Per-operation time limit. */
    readonly timeoutMs = 1000,
  ) {}

  async #call<T>(op: WireOp): Promise<T> {
    try {
      const res = await fetch(`${this.url}/op`, {
        method: "POST",
        body: JSON.stringify(op),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (!res.ok) {
        throw new StoreUnavailableError(`store answered ${res.status}`);
      }
      return await res.json() as T;
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err;
      throw new StoreUnavailableError();
    }
  }

  async get(key: string): Promise<StoredObject | undefined> {
    return (await this.#call<StoredObject | null>({ op: "get", key })) ??
      undefined;
  }
  list(
    prefix: string,
  ): Promise<{ items: StoredObject[]; resourceVersion: string }> {
    return this.#call<{ items: StoredObject[]; resourceVersion: string }>({
      op: "list",
      prefix,
    });
  }
  create(key: string, object: StoredObject): Promise<WriteResult> {
    return this.#call<WriteResult>({ op: "create", key, object });
  }
  update(
    key: string,
    object: StoredObject,
    ifVersion?: string,
  ): Promise<WriteResult> {
    return this.#call<WriteResult>({ op: "update", key, object, ifVersion });
  }
  remove(key: string): Promise<WriteResult> {
    return this.#call<WriteResult>({ op: "remove", key });
  }
  async ping(): Promise<void> {
    await this.#call<string>({ op: "ping" });
  }
}

/** Options of {@link StoreLink}. */
export interface StoreLinkOptions {
  /** How long an operation over a cut link takes to fail (default 1000 ms). */
  failAfterMs?: number;
}

/**
 * One API server's connection to the store; cutting it makes every
 * operation fail the way an API server without etcd quorum does.
 */
export class StoreLink implements Store {
  #connected = true;
  #cut = new AbortController();
  readonly #failAfterMs: number;

  /** A connected link to `store`. */
  constructor(readonly store: Store, options: StoreLinkOptions = {}) {
    this.#failAfterMs = options.failAfterMs ?? 1000;
  }

  /** Whether this server reaches the store. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Cuts (false) or restores (true) this server's link to the store. */
  setConnected(connected: boolean): void {
    if (connected === this.#connected) return;
    this.#connected = connected;
    if (connected) this.#cut = new AbortController();
    else this.#cut.abort();
  }

  async #via<T>(run: () => Promise<T>): Promise<T> {
    if (!this.#connected) {
      await new Promise((r) => setTimeout(r, this.#failAfterMs));
      throw new StoreUnavailableError();
    }
    const result = await run();
    // Cut while in flight: the answer never arrives.
    if (!this.#connected) throw new StoreUnavailableError();
    return result;
  }

  get(key: string): Promise<StoredObject | undefined> {
    return this.#via(() => this.store.get(key));
  }
  list(
    prefix: string,
  ): Promise<{ items: StoredObject[]; resourceVersion: string }> {
    return this.#via(() => this.store.list(prefix));
  }
  create(key: string, object: StoredObject): Promise<WriteResult> {
    return this.#via(() => this.store.create(key, object));
  }
  update(
    key: string,
    object: StoredObject,
    ifVersion?: string,
  ): Promise<WriteResult> {
    return this.#via(() => this.store.update(key, object, ifVersion));
  }
  remove(key: string): Promise<WriteResult> {
    return this.#via(() => this.store.remove(key));
  }
  ping(): Promise<void> {
    return this.#via(() => this.store.ping());
  }
}

/** What {@link watchStoreHealth} needs of a server. */
export interface HealthTarget {
  /** The current failing checks. */
  failingChecks(): string[];
  /** Sets the failing checks. */
  setFailingChecks(checks: string[]): void;
}

/** Options of {@link watchStoreHealth}. */
export interface StoreHealthOptions {
  /** Ping period (default 250 ms). */
  intervalMs?: number;
  /**
   * How long the store must be unreachable before `/readyz` fails `etcd`
   * (default 2000 ms: kube-apiserver's etcd check times out after
   * `--etcd-healthcheck-timeout`, 2 s).
   */
  unreadyAfterMs?: number;
  /** Stops the watch. */
  signal?: AbortSignal;
  /** Called when the etcd checks start or stop failing. */
  onChange?: (failing: boolean) => void;
}

/** The readyz checks a store outage fails, as kube-apiserver's. */
export const STORE_CHECKS = ["etcd", "etcd-readiness"];

/**
 * Pings the store through `link`; once it has failed for `unreadyAfterMs`
 * the server's `etcd` checks fail, and pass again on the first answer.
 * Other failing checks (set by a test or the lab) are left alone.
 */
export function watchStoreHealth(
  target: HealthTarget,
  link: Store,
  options: StoreHealthOptions = {},
): void {
  const interval = options.intervalMs ?? 250;
  const after = options.unreadyAfterMs ?? 2000;
  let failingSince: number | null = null;
  let marked = false;
  const tick = async () => {
    if (options.signal?.aborted) return;
    let ok = true;
    try {
      await Promise.race([
        link.ping(),
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error("timeout")), interval * 2)
        ),
      ]);
    } catch {
      ok = false;
    }
    const now = performance.now();
    if (ok) failingSince = null;
    else failingSince ??= now;
    const shouldFail = failingSince !== null && now - failingSince >= after;
    // Re-asserted every tick: the lab may have set other checks meanwhile.
    const current = new Set(target.failingChecks());
    const missing = STORE_CHECKS.some((c) => !current.has(c));
    if (shouldFail && missing) {
      for (const c of STORE_CHECKS) current.add(c);
      target.setFailingChecks([...current]);
    } else if (!shouldFail && marked) {
      for (const c of STORE_CHECKS) current.delete(c);
      target.setFailingChecks([...current]);
    }
    if (shouldFail !== marked) options.onChange?.(shouldFail);
    marked = shouldFail;
    if (!options.signal?.aborted) {
      setTimeout(tick, ok ? interval : Math.min(interval, 100));
    }
  };
  tick();
}

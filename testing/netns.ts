/**
 * Network namespaces for kernel tests, and agents that run code inside
 * them.
 *
 * Why agents: FFI sockets (netlink, AF_PACKET, raw ICMPv6) act in the
 * network namespace of the thread that opens them. Rather than `setns` the
 * test runner's own main thread back and forth (which would also move
 * every `ip` child it spawns), each namespace gets a small Deno process,
 * started with `ip netns exec NS deno run --cached-only ...`, that serves
 * JSON-line requests on stdin (see {@link serveAgent}). The product code
 * runs unchanged, exactly as the daemon would inside that namespace. The
 * lib/ layers used this way have no npm dependencies, so nothing needs the
 * network that a fresh namespace lacks.
 *
 * Everything is named `hvk<pid><n>` and removed in `finally` blocks.
 *
 * @module
 */

let counter = 0;

/** A unique namespace name: `hvk<pid><n>` (n in base 36). */
export function uniqueName(): string {
  return `hvk${Deno.pid}${(counter++).toString(36)}`;
}

/** Runs a command; resolves its stdout, rejects with its stderr. */
export async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed (exit ${out.code}): ${
        text.decode(out.stderr).trim()
      }`,
    );
  }
  return text.decode(out.stdout);
}

/** Runs `ip ARGS...`. */
export function ip(...args: string[]): Promise<string> {
  return run("ip", args);
}

/** Runs `ip -n NS -j ARGS...` and parses the JSON. */
export async function ipJson<T = unknown>(
  ns: string,
  ...args: string[]
): Promise<T> {
  const out = await ip("-n", ns, "-j", ...args);
  return JSON.parse(out.trim() === "" ? "[]" : out) as T;
}

/** Runs `ip netns exec NS sysctl -q -w K=V...`. */
export async function sysctl(ns: string, ...settings: string[]): Promise<void> {
  await ip("netns", "exec", ns, "sysctl", "-q", "-w", ...settings);
}

/**
 * Creates a namespace with `lo` up and IPv6 DAD off (addresses usable at
 * once, no timing in tests). Returns its name.
 */
export async function createNetns(): Promise<string> {
  const name = uniqueName();
  await ip("netns", "add", name);
  try {
    await ip("-n", name, "link", "set", "lo", "up");
    await sysctl(
      name,
      "net.ipv6.conf.all.accept_dad=0",
      "net.ipv6.conf.default.accept_dad=0",
    );
  } catch (err) {
    await deleteNetns(name);
    throw err;
  }
  return name;
}

/** Deletes a namespace; a missing one is fine. */
export async function deleteNetns(name: string): Promise<void> {
  try {
    await ip("netns", "del", name);
  } catch (err) {
    if (!String(err).includes("No such file")) throw err;
  }
}

/**
 * Creates `count` namespaces, runs `fn` with their names and always
 * deletes them (also when creating one of them failed).
 */
export async function withNetns<T>(
  count: number,
  fn: (names: string[]) => Promise<T>,
): Promise<T> {
  const names: string[] = [];
  try {
    for (let i = 0; i < count; i++) names.push(await createNetns());
    return await fn(names);
  } finally {
    for (const n of names) await deleteNetns(n);
  }
}

/** One end of a veth pair. */
export interface VethEnd {
  /** Namespace. */
  ns: string;
  /** Interface name inside it. */
  name: string;
  /** MAC to set, e.g. `"02:00:00:00:00:0a"`. */
  mac?: string;
}

/** Creates a veth pair between (or within) namespaces; both ends up. */
export async function addVeth(a: VethEnd, b: VethEnd): Promise<void> {
  const args = ["-n", a.ns, "link", "add", a.name];
  if (a.mac) args.push("address", a.mac);
  args.push("type", "veth", "peer", "name", b.name);
  if (b.mac) args.push("address", b.mac);
  args.push("netns", b.ns);
  await ip(...args);
  await ip("-n", a.ns, "link", "set", a.name, "up");
  await ip("-n", b.ns, "link", "set", b.name, "up");
}

/** Creates bridge `name` in `ns`, up. */
export async function addBridge(ns: string, name: string): Promise<void> {
  await ip("-n", ns, "link", "add", name, "type", "bridge");
  await ip("-n", ns, "link", "set", name, "up");
}

// ---- agents ----------------------------------------------------------------

/** An error thrown inside an agent, as the test sees it. */
export class AgentError extends Error {
  /** The error's class name inside the agent (`"NetlinkError"`, ...). */
  readonly remoteName: string;
  /** Every own enumerable field of the remote error (errno, code, ...). */
  readonly fields: Record<string, unknown>;
  /** The error of agent operation `op`, as the agent reported it. */
  constructor(op: string, remote: Record<string, unknown>) {
    super(`agent ${op}: ${remote.name}: ${remote.message}`);
    this.name = "AgentError";
    this.remoteName = String(remote.name);
    this.fields = remote;
  }
}

interface Reply {
  id: number;
  ok?: unknown;
  error?: Record<string, unknown>;
}

/** A Deno process inside a namespace serving {@link serveAgent} ops. */
export class NetnsAgent {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: AsyncIterator<string>;
  #id = 0;
  #closed = false;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#lines = readLines(child.stdout)[Symbol.asyncIterator]();
  }

  /**
   * Starts `script` (a module calling {@link serveAgent}) inside `ns`.
   * `prefix` goes before `deno`, e.g.
   * `["setpriv", "--bounding-set", "-net_admin,-net_raw"]` to run the agent
   * without those capabilities.
   */
  static start(
    ns: string,
    script: URL,
    options: { prefix?: string[] } = {},
  ): NetnsAgent {
    const child = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        ns,
        ...(options.prefix ?? []),
        Deno.execPath(),
        "run",
        "--allow-all",
        "--quiet",
        "--cached-only",
        "--no-prompt",
        script.pathname,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    return new NetnsAgent(child);
  }

  /** Calls `op` in the agent; rejects with an {@link AgentError}. */
  async call<T = unknown>(op: string, args: unknown = {}): Promise<T> {
    const id = ++this.#id;
    const line = JSON.stringify({ id, op, args }) + "\n";
    await this.#writer.write(new TextEncoder().encode(line));
    const next = await this.#lines.next();
    if (next.done) throw new Error(`agent exited before answering ${op}`);
    const reply = JSON.parse(next.value) as Reply;
    if (reply.id !== id) {
      throw new Error(`agent answered ${reply.id}, not ${id}`);
    }
    if (reply.error !== undefined) throw new AgentError(op, reply.error);
    return reply.ok as T;
  }

  /** Ends the agent (stdin EOF) and waits for it; kills it after 10 s. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writer.close().catch(() => {});
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    }, 10_000);
    try {
      // Drain stdout so the stream resource is released.
      while (!(await this.#lines.next()).done) { /* discard */ }
      await this.#child.status;
    } finally {
      clearTimeout(timer);
    }
  }
}

async function* readLines(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<string> {
  let buf = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, nl);
      buf = buf.slice(nl + 1);
    }
  }
  if (buf !== "") yield buf;
}

/** Agent side: the operations it offers. */
export type AgentOps = Record<
  string,
  // deno-lint-ignore no-explicit-any
  (args: any) => unknown | Promise<unknown>
>;

function toJson(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? Array.from(value) : value;
}

function errorFields(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) {
    return { name: "NonError", message: String(err) };
  }
  const out: Record<string, unknown> = { name: err.name, message: err.message };
  for (const [k, v] of Object.entries(err)) {
    if (typeof v !== "object" || v === null) out[k] = v;
  }
  return out;
}

/**
 * Agent main loop: reads `{id, op, args}` lines from stdin, answers
 * `{id, ok}` or `{id, error}` lines on stdout, ends at stdin EOF.
 */
export async function serveAgent(ops: AgentOps): Promise<void> {
  const enc = new TextEncoder();
  for await (const line of readLines(Deno.stdin.readable)) {
    if (line.trim() === "") continue;
    const req = JSON.parse(line) as { id: number; op: string; args: unknown };
    let reply: Reply;
    try {
      const fn = ops[req.op];
      if (fn === undefined) throw new Error(`unknown op ${req.op}`);
      reply = { id: req.id, ok: (await fn(req.args)) ?? null };
    } catch (err) {
      reply = { id: req.id, error: errorFields(err) };
    }
    await Deno.stdout.write(enc.encode(JSON.stringify(reply, toJson) + "\n"));
  }
}

/**
 * Starts one agent per namespace, runs `fn`, and always closes them.
 */
export async function withAgents<T>(
  script: URL,
  namespaces: string[],
  fn: (agents: NetnsAgent[]) => Promise<T>,
): Promise<T> {
  const agents: NetnsAgent[] = [];
  try {
    for (const ns of namespaces) agents.push(NetnsAgent.start(ns, script));
    return await fn(agents);
  } finally {
    for (const a of agents) await a.close();
  }
}

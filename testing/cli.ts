/** Runs the CLI in-process with captured output. */
import { main } from "../lib/cli/mod.ts";

/** What one CLI invocation printed and returned. */
export interface CliResult {
  /** The exit status. */
  status: number;
  /** Everything written to stdout. */
  out: string;
  /** Everything written to stderr. */
  err: string;
}

/** Runs `ha-vip args...` with `env` as its whole environment. */
export async function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<CliResult> {
  let out = "";
  let err = "";
  const status = await main(args, {
    out: (t) => out += t,
    err: (t) => err += t,
    env,
  });
  return { status, out, err };
}

/**
 * Runs ha-vip as a real process (exit codes, signals): `deno run main.ts`,
 * or the compiled binary named by `HA_VIP_BIN` (the release workflow runs
 * the tests against its x86_64 binary that way); `script` runs another
 * entry point with `deno run` instead (e.g. a `deno bundle` output).
 */
export async function runBinary(
  args: string[],
  env: Record<string, string> = {},
  script?: string,
): Promise<CliResult> {
  const main = new URL("../main.ts", import.meta.url).pathname;
  const bin = script === undefined ? Deno.env.get("HA_VIP_BIN") : undefined;
  const cmd = new Deno.Command(bin || Deno.execPath(), {
    args: bin
      ? args
      : ["run", "--allow-all", "--quiet", script ?? main, ...args],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  });
  const r = await cmd.output();
  const dec = new TextDecoder();
  return {
    status: r.code,
    out: dec.decode(r.stdout),
    err: dec.decode(r.stderr),
  };
}

/**
 * Runs `ha-vip args...` inside network namespace `ns` (root only): FFI
 * sockets and loopback belong to the namespace of the process.
 */
export async function runInNetns(
  ns: string,
  args: string[],
  options: { signal?: AbortSignal } = {},
): Promise<CliResult> {
  const main = new URL("../main.ts", import.meta.url).pathname;
  const r = await new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      ns,
      Deno.execPath(),
      "run",
      "--allow-all",
      "--cached-only",
      "--quiet",
      main,
      ...args,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    // A guard against a hang (the process is killed), not a speed check.
    signal: options.signal,
  }).output();
  const dec = new TextDecoder();
  return {
    status: r.code,
    out: dec.decode(r.stdout),
    err: dec.decode(r.stderr),
  };
}

/** A long-running process started by {@link spawnInNetns}. */
export interface Spawned {
  child: Deno.ChildProcess;
  /** stdout and stderr so far, interleaved as they came. */
  output: () => string;
  /** Settles when the process has ended and its output is read. */
  done: Promise<Deno.CommandStatus>;
}

/**
 * Starts `argv` inside network namespace `ns` (root only). `ip netns exec`
 * execs the program, so `child.pid` is the program's own pid.
 */
export function spawnInNetns(ns: string, argv: string[]): Spawned {
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", ns, ...argv],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const dec = new TextDecoder();
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s) text += dec.decode(chunk, { stream: true });
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  return {
    child,
    output: () => text,
    done: pumps.then(() => child.status),
  };
}

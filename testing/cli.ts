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
 * the tests against its x86_64 binary that way).
 */
export async function runBinary(
  args: string[],
  env: Record<string, string> = {},
): Promise<CliResult> {
  const main = new URL("../main.ts", import.meta.url).pathname;
  const bin = Deno.env.get("HA_VIP_BIN");
  const cmd = new Deno.Command(bin || Deno.execPath(), {
    args: bin ? args : ["run", "--allow-all", "--quiet", main, ...args],
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

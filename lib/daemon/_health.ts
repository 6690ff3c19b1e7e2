/** Maps the `health:` and `k8s:` configuration onto probe options. */
import type { Config } from "../config/mod.ts";
import {
  type ProbeFunction,
  type ProbeOptions,
  Prober,
  type ProbeResult,
  type Verdict,
} from "../health/mod.ts";
import type { LocalApi, LocalApiOptions } from "../election/mod.ts";
import { ApiClient, isNotExist, loadCredentials } from "../k8s/mod.ts";
import { type Logger, registerSecret } from "../observe/mod.ts";

/**
 * Builds the probe options: credentials in the configured mode (external or
 * in-cluster), the health URL (always this node's API server), TLS settings.
 * Every token read is registered for log redaction. File reads stop
 * waiting when `signal` fires (a token or CA file on a hung mount).
 */
export async function probeOptionsFromConfig(
  config: Config,
  log: Logger,
  env: Record<string, string> = Deno.env.toObject(),
  signal?: AbortSignal,
): Promise<ProbeOptions> {
  registerSecret(config.k8s.token);
  const creds = await loadCredentials({
    inCluster: config.k8s.in_cluster,
    apiServer: config.k8s.api_server,
    token: config.k8s.token,
    tokenFile: config.k8s.token_file,
    caCertFile: config.k8s.ca_cert,
    env: (name) => env[name],
    logger: log,
    onSecret: registerSecret,
    signal,
  });
  return {
    // The health target is the local API server even in-cluster, where
    // creds.apiServer is the Service address (some API server, not ours).
    url: config.health.url!,
    timeoutMs: config.health.timeout,
    tlsServerName: config.health.tls_server_name,
    insecureSkipTlsVerify: config.health.insecure_skip_tls_verify,
    caCertFile: creds.caCertFile,
    tokenSource: creds.tokenSource,
    logger: log,
  };
}

/** The eligibility reason of a verdict, for "health not ready: ..." lines. */
export function verdictReason(v: Verdict): string {
  if (v.kind === "not_ready" && v.failingChecks.length > 0) {
    return `${v.failingChecks.join(", ")} failing`;
  }
  return `${v.kind.replaceAll("_", " ")}: ${v.detail}`;
}

/** `signal`, or a timer of `ms`, whichever fires first. */
function withTimeout(signal: AbortSignal, ms: number) {
  const c = new AbortController();
  const abort = () => c.abort();
  const timer = setTimeout(abort, ms);
  signal.addEventListener("abort", abort, { once: true });
  if (signal.aborted) abort();
  return {
    signal: c.signal,
    done: () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", abort);
    },
  };
}

function failed(verdict: Verdict): ProbeResult {
  return { verdict, tcp: { ok: false, ms: 0 }, ms: 0 };
}

/**
 * A prober with `cfg`'s credentials, or the timeout verdict when reading
 * them took longer than `health.timeout`. Throws what loading throws.
 */
async function loadProber(
  signal: AbortSignal,
  cfg: Config,
  log: Logger,
  env: Record<string, string> | undefined,
): Promise<Prober | Verdict> {
  const timeoutMs = cfg.health.timeout;
  const deadline = withTimeout(signal, timeoutMs);
  try {
    return new Prober(
      await probeOptionsFromConfig(cfg, log, env, deadline.signal),
    );
  } catch (err) {
    if (deadline.signal.aborted && !signal.aborted) {
      return {
        kind: "timeout",
        stage: "credentials",
        detail:
          `reading the credentials files did not finish within ${timeoutMs} ms (health.timeout): is one on a hung mount?`,
      };
    }
    throw err;
  } finally {
    deadline.done();
  }
}

/**
 * The daemon's probe function. Credentials are (re)loaded until they work,
 * because on a node being bootstrapped by kubeadm the CA and token files
 * appear only after ha-vip has started: until then the node is simply not
 * ready (a verdict that names the missing file), instead of a daemon that
 * refuses to start. A token file that does not exist yet is bridged by
 * probing anonymously: `/readyz` is readable without credentials by default,
 * which is what lets `kubeadm init` reach the first API server through the
 * VIP. Loading is bounded by `health.timeout` like the probe itself; its
 * `close()` closes the kept-alive connections.
 */
export function resilientProbe(
  config: Config,
  log: Logger,
  env?: Record<string, string>,
): ProbeFunction {
  let full: Prober | undefined;
  let anonymous: Prober | undefined;
  let lastProblem = "";
  const probe = async (signal: AbortSignal): Promise<ProbeResult> => {
    if (full) return full.probe(signal);
    let problem: string;
    try {
      const got = await loadProber(signal, config, log, env);
      if (!(got instanceof Prober)) return failed(got);
      full = got;
      anonymous?.close();
      anonymous = undefined;
      if (lastProblem) log.info("credentials are readable now");
      return full.probe(signal);
    } catch (err) {
      problem = err instanceof Error ? err.message : String(err);
      if (problem !== lastProblem) {
        log.warn(`${problem}; trying again at every check`);
      }
      lastProblem = problem;
      const tokenMissing = !config.k8s.in_cluster &&
        config.k8s.token_file !== undefined &&
        isNotExist(err, config.k8s.token_file);
      if (!tokenMissing) {
        return failed({ kind: "error", detail: problem, cause: "credentials" });
      }
    }
    try {
      if (!anonymous) {
        const got = await loadProber(
          signal,
          {
            ...config,
            k8s: { ...config.k8s, token_file: undefined },
          },
          log,
          env,
        );
        if (!(got instanceof Prober)) return failed(got);
        anonymous = got;
      }
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      return failed({ kind: "error", detail, cause: "credentials" });
    }
    return anonymous.probe(signal);
  };
  return Object.assign(probe, {
    close: () => {
      full?.close();
      anonymous?.close();
    },
  });
}

/**
 * JSON requests to this node's API server (`health.url`'s origin: never
 * the VIP, never the in-cluster service address) with the configured
 * credentials and TLS settings, for the election. Credentials load on the
 * first request (kubeadm writes the CA and the token file after ha-vip has
 * started); until then a request throws the loading error, which the
 * elector reports like any failed request. One kept-alive connection;
 * `close()` closes it. `reconfigure` (a SIGHUP that changed `k8s.*` or
 * `health.*`, which the health check takes live) makes the next request
 * connect with the new target and credentials, so the election keeps
 * talking to the server the health check judges.
 */
export function localApiClient(
  config: Config,
  log: Logger,
  env?: Record<string, string>,
): ReconfigurableLocalApi & { close(): void } {
  let client: ApiClient | undefined;
  const connect = async (o: LocalApiOptions = {}): Promise<ApiClient> => {
    if (client) return client;
    const p = await probeOptionsFromConfig(config, log, env, o.signal);
    client = new ApiClient({
      url: new URL(p.url).origin,
      tlsServerName: p.tlsServerName,
      insecureSkipTlsVerify: p.insecureSkipTlsVerify,
      caCertFile: p.caCertFile,
      tokenSource: p.tokenSource,
      timeoutMs: p.timeoutMs,
      logger: log,
    });
    return client;
  };
  return {
    getJson: async (path, o) => (await connect(o)).getJson(path, o),
    postJson: async (path, body, o) =>
      (await connect(o)).postJson(path, body, o),
    putJson: async (path, body, o) => (await connect(o)).putJson(path, body, o),
    close: () => client?.close(),
    reconfigure: (next) => {
      config = next;
      const old = client;
      client = undefined;
      // A request still running on it fails once; the elector retries.
      old?.close();
    },
  };
}

/** A {@link LocalApi} that can follow a re-read configuration. */
export interface ReconfigurableLocalApi extends LocalApi {
  /** Use `config`'s API server target and credentials from now on. */
  reconfigure?(config: Config): void;
}

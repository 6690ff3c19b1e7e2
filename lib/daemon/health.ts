/** Maps the `health:` and `k8s:` configuration onto probe options. */
import type { Config } from "../config/mod.ts";
import {
  type ProbeFunction,
  type ProbeOptions,
  Prober,
  type ProbeResult,
  type Verdict,
} from "../health/mod.ts";
import { loadCredentials } from "../k8s/mod.ts";
import { type Logger, registerSecret } from "../observe/mod.ts";

/**
 * Builds the probe options: credentials in the configured mode (external or
 * in-cluster), the health URL (always this node's API server), TLS settings.
 * Every token read is registered for log redaction.
 */
export async function probeOptionsFromConfig(
  config: Config,
  log: Logger,
  env: Record<string, string> = Deno.env.toObject(),
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

/**
 * The daemon's probe function. Credentials are (re)loaded until they work,
 * because on a node being bootstrapped by kubeadm the CA and token files
 * appear only after ha-vip has started: until then the node is simply not
 * ready (a verdict that names the missing file), instead of a daemon that
 * refuses to start. A token file that does not exist yet is bridged by
 * probing anonymously: `/readyz` is readable without credentials by default,
 * which is what lets `kubeadm init` reach the first API server through the
 * VIP.
 */
export function resilientProbe(
  config: Config,
  log: Logger,
  env?: Record<string, string>,
): ProbeFunction {
  let full: Prober | undefined;
  let anonymous: Prober | undefined;
  let lastProblem = "";
  const failed = (detail: string): ProbeResult => ({
    verdict: { kind: "error", detail, cause: "credentials" },
    tcp: { ok: false, ms: 0 },
    ms: 0,
  });
  return async (signal) => {
    if (!full) {
      try {
        full = new Prober(await probeOptionsFromConfig(config, log, env));
        if (lastProblem) log.info("credentials are readable now");
      } catch (err) {
        const problem = err instanceof Error ? err.message : String(err);
        if (problem !== lastProblem) {
          log.warn(`${problem}; trying again at every check`);
        }
        lastProblem = problem;
        const tokenMissing = !config.k8s.in_cluster &&
          config.k8s.token_file !== undefined &&
          problem.includes(config.k8s.token_file);
        if (!tokenMissing) return failed(problem);
        try {
          anonymous ??= new Prober(
            await probeOptionsFromConfig(
              { ...config, k8s: { ...config.k8s, token_file: undefined } },
              log,
              env,
            ),
          );
        } catch (err2) {
          return failed(err2 instanceof Error ? err2.message : String(err2));
        }
        return anonymous.probe(signal);
      }
    }
    return full.probe(signal);
  };
}

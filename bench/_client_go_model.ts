/**
 * What client-go's leader election (kube-vip's) gives after a crash and
 * after a release, by its rules alone, for the kube-vip column of
 * `lease_bench.ts`: a Monte Carlo model, not a measurement.
 *
 * The rules modelled (k8s.io/client-go/tools/leaderelection):
 * - the holder renews every retry period P (`wait.Until`, no jitter);
 * - a follower tries every P + U·1.2·P (`wait.JitterUntil`, jitter factor
 *   1.2, sliding), reads the Lease and notes its own clock whenever the
 *   record changed (`observedTime`);
 * - it takes a held Lease once `observedTime + leaseDurationSeconds` has
 *   passed, at its next try; a released one (holder "") at its next try.
 *
 * Request latency is left out (a few ms on a LAN). The holder crashes, or
 * releases, at a uniformly random moment of its renewal period, and every
 * follower's tries run at a random phase.
 *
 * @module
 */

/** Options of {@link clientGoModel}. */
export interface ClientGoModelOptions {
  durationMs: number;
  retryPeriodMs: number;
  /** Nodes that may take over (default 2: three control-plane nodes). */
  followers?: number;
  /** Crashes (and releases) played (default 20000). */
  trials?: number;
  /** Seed of the random numbers (default 1), for repeatable tables. */
  seed?: number;
}

/** Takeover times in ms after the event, sorted. */
export interface ClientGoModel {
  /** From the holder's crash until a follower holds the Lease. */
  crash: number[];
  /** From the holder's release until a follower holds the Lease. */
  release: number[];
}

/** JitterFactor of client-go's acquire loop. */
const JITTER = 1.2;

/** mulberry32: small, seeded, good enough for a model. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Plays client-go's rules; see the module doc. */
export function clientGoModel(o: ClientGoModelOptions): ClientGoModel {
  const p = o.retryPeriodMs;
  const d = o.durationMs;
  const rnd = random(o.seed ?? 1);
  const next = (t: number) => t + p + rnd() * JITTER * p;
  const crash: number[] = [];
  const release: number[] = [];
  for (let i = 0; i < (o.trials ?? 20_000); i++) {
    // The holder's last renewal was at 0; the event comes before the next.
    const at = rnd() * p;
    let crashTake = Infinity;
    let releaseTake = Infinity;
    for (let f = 0; f < (o.followers ?? 2); f++) {
      // Tries from a random phase well before the event (renewals every P
      // before it: each try sees a changed record).
      let t = -10 * p - rnd() * (1 + JITTER) * p;
      let observed = t;
      let seen = Number.NaN;
      while (t <= at) {
        const renewal = Math.floor(Math.min(t, 0) / p) * p;
        if (renewal !== seen) {
          seen = renewal;
          observed = t;
        }
        t = next(t);
      }
      // t: this follower's first try after the event.
      releaseTake = Math.min(releaseTake, t - at);
      for (;; t = next(t)) {
        if (seen !== 0) {
          seen = 0;
          observed = t;
        }
        if (observed + d <= t) break;
      }
      crashTake = Math.min(crashTake, t - at);
    }
    crash.push(crashTake);
    release.push(releaseTake);
  }
  const asc = (a: number, b: number) => a - b;
  return { crash: crash.sort(asc), release: release.sort(asc) };
}

/** The `q` quantile (0–1) of sorted values. */
export function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

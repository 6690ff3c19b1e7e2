/**
 * Fencing by lifetime: how long the holder may let its VIP live after the
 * start of a successful lease write, so that the VIP has always left the
 * interface before any other node may take the lease and add it.
 *
 * The argument, with D the holder's `leaseDurationSeconds`, s the holder's
 * monotonic time when it SENT its last successful write, and c the moment
 * the API server committed it (c > s):
 *
 * - A follower notes the local time o at which it saw the record change,
 *   on receiving the response that carries it, so o > c. It may take the
 *   lease only once its own monotonic clock says D has passed since o, and
 *   adds the VIP only after its own write succeeded: in real time not
 *   before c + D / (1 + ρ), where ρ bounds how much faster than real time
 *   any node's clock can run. Its observation delay (o - c >= 0) and its
 *   request latency only make it later; renewTime is never compared with a
 *   clock.
 * - The holder sets the VIP's valid lifetime L (whole seconds: the kernel
 *   counts seconds) at its local time t >= s, only after that write
 *   succeeded. The kernel deletes the address at t + L + K(L) on the
 *   holder's clock, where K is the kernel's lateness (below); on a clock
 *   running slow by ρ that is at most (t - s + L + K(L)) / (1 - ρ) after s
 *   in real time, plus σ for the time between reading the clock and the
 *   kernel stamping the address.
 * - So zero overlap needs (t - s) + L + K(L) < (D / (1 + ρ) - σ)(1 - ρ).
 *   {@link lifetimeAfter} picks the largest such L for the elapsed t - s:
 *   the renewal latency is measured, not assumed, and a slow renewal just
 *   gets a shorter lifetime (or none: the VIP then keeps the earlier, still
 *   fenced, expiry).
 *
 * K(L), the kernel's lateness (net/ipv4/devinet.c `check_lifetime`): the
 * expiry check is a delayed work, re-armed for the next expiry rounded up
 * to a whole second when that is within HZ/4, never sooner than 1 s ahead
 * (ADDRCONF_TIMER_FUZZ_MAX), and the timer wheel fires a timer up to 1/8
 * of its delay late. So K(L) <= max(1 s, 250 ms + (L + 250 ms) / 8) x 9/8.
 * Measured on this project's lab kernel (6.18, HZ=250): 3 s lived 3.07 s,
 * 4 s lived 4.41 s, 13 s lived 13.28 s and 13.56 s.
 *
 * Not covered: a holder whose whole machine is paused (a VM stopped by its
 * hypervisor) keeps its VIP until its kernel runs again.
 */

/** What the fencing bound assumes; documented in the README. */
export const FENCING_ASSUMPTIONS = {
  /**
   * How far any node's monotonic clock may run from real time, in parts
   * per million: twice the 500 ppm NTP may slew a clock, ten times a
   * typical crystal's error.
   */
  clockRatePpm: 1000,
  /** The kernel's lifetime check runs at most once per second. */
  kernelCheckIntervalMs: 1000,
  /** An expiry is rounded up to a whole second when that is this close. */
  kernelRoundUpMs: 250,
  /** Timer-wheel lateness as a fraction of a timer's delay. */
  timerWheelSlack: 1 / 8,
  /**
   * Between reading the clock and the kernel stamping the address
   * (event-loop delay, the netlink round trip).
   */
  schedulingSlackMs: 100,
} as const;

/** The three durations of a lease election, in ms. */
export interface LeaseTiming {
  /** `leaseDurationSeconds` × 1000: how long a lease holds without renewal. */
  durationMs: number;
  /** The holder gives up after this long without a successful renewal. */
  renewDeadlineMs: number;
  /** Between tries. */
  retryPeriodMs: number;
}

/**
 * The derived fencing figures of a {@link LeaseTiming}. The margin splits
 * exactly into its parts: `marginMs = kernelMs + clockDriftMs +
 * schedulingSlackMs + latencyToleranceMs`.
 */
export interface FencingPlan {
  /** The VIP lifetime set after an instant renewal, whole seconds. */
  lifetimeS: number;
  /** Lease duration minus that lifetime, ms. */
  marginMs: number;
  /** K(L): the kernel's worst lateness in deleting the VIP, ms. */
  kernelMs: number;
  /** What clocks running apart at ρ can cost over one lease duration, ms. */
  clockDriftMs: number;
  /** σ, see {@link FENCING_ASSUMPTIONS}. */
  schedulingSlackMs: number;
  /**
   * How long a renewal may take (send to answer) and still give the full
   * {@link lifetimeS}; a slower one gives a shorter lifetime, ms.
   */
  latencyToleranceMs: number;
}

/** The kernel's worst lateness in deleting an address with lifetime `lifetimeMs`. */
export function kernelLatenessMs(lifetimeMs: number): number {
  const a = FENCING_ASSUMPTIONS;
  const scheduled = Math.max(
    a.kernelCheckIntervalMs,
    a.kernelRoundUpMs + (lifetimeMs + a.kernelRoundUpMs) * a.timerWheelSlack,
  );
  return scheduled * (1 + a.timerWheelSlack);
}

/** The fencing window of a lease duration, ms (see the module text). */
export function fencingWindowMs(durationMs: number): number {
  const rho = FENCING_ASSUMPTIONS.clockRatePpm / 1e6;
  return (durationMs / (1 + rho) - FENCING_ASSUMPTIONS.schedulingSlackMs) *
    (1 - rho);
}

/**
 * The largest whole-second VIP lifetime the holder may set `elapsedMs`
 * after it sent its last successful write (0: none may be set), for a
 * lease of `durationMs`. Optionally capped at `capS`.
 */
export function lifetimeAfter(
  durationMs: number,
  elapsedMs: number,
  capS = Infinity,
): number {
  const window = fencingWindowMs(durationMs);
  let l = Math.min(capS, Math.floor(window / 1000));
  while (l > 0 && elapsedMs + l * 1000 + kernelLatenessMs(l * 1000) >= window) {
    l--;
  }
  return Math.max(0, l);
}

/**
 * The fencing figures for a timing, or why it cannot work: the lifetime
 * must outlast a renewal period by a second, or the VIP would expire
 * between two successful renewals.
 */
export function fencingPlan(
  timing: LeaseTiming,
): FencingPlan | { error: string } {
  const D = timing.durationMs;
  const window = fencingWindowMs(D);
  const lifetimeS = lifetimeAfter(D, 0);
  if (lifetimeS * 1000 < timing.retryPeriodMs + 1000) {
    return {
      error: `gives the VIP a fenced lifetime of only ${lifetimeS}s ` +
        `(it must end before any follower may take over, with margin for clock rates and ` +
        `the kernel's 1s lifetime granularity), but it must last at least retry_period + 1s = ${
          (timing.retryPeriodMs + 1000) / 1000
        }s to survive from one renewal to the next; use a duration of at least ${
          minimumDurationS(timing.retryPeriodMs)
        }s`,
    };
  }
  const kernelMs = kernelLatenessMs(lifetimeS * 1000);
  const sigma = FENCING_ASSUMPTIONS.schedulingSlackMs;
  return {
    lifetimeS,
    marginMs: D - lifetimeS * 1000,
    kernelMs,
    clockDriftMs: D - sigma - window,
    schedulingSlackMs: sigma,
    latencyToleranceMs: window - lifetimeS * 1000 - kernelMs,
  };
}

/**
 * The shortest whole-second lease duration that gives a fenced lifetime of
 * at least retry_period + 1 s (for error messages).
 */
export function minimumDurationS(retryPeriodMs: number): number {
  let d = 1;
  while (lifetimeAfter(d * 1000, 0) * 1000 < retryPeriodMs + 1000) d++;
  return d;
}

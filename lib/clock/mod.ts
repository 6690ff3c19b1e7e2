/**
 * Time as a seam: the {@link Clock} interface every waiting part takes,
 * the real {@link systemClock}, {@link sleep}, and {@link repeatPaced} for
 * announcement bursts. Pure apart from the runtime's timers.
 *
 * ```ts
 * import { repeatPaced, systemClock } from "./lib/clock/mod.ts";
 * await repeatPaced({ count: 3, intervalMs: 100, clock: systemClock }, () => {});
 * ```
 *
 * @module
 */
export { type Clock, sleep, systemClock } from "./_clock.ts";
export { type PacedResult, type PaceOptions, repeatPaced } from "./_pace.ts";

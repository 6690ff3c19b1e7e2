/**
 * Flag values shared by the lab (`lab/main.ts`) and the failover benchmark
 * (`bench/failover_bench.ts`). Each returns the value, or an error sentence
 * naming the flag.
 */
import { parseDuration } from "../lib/config/mod.ts";

/** A duration such as `500ms` or `1s`, in ms. */
export function durationFlag(
  name: string,
  v: string | undefined,
): number | string {
  if (v === undefined) return `--${name} needs a value`;
  const ms = parseDuration(v);
  return ms === undefined
    ? `--${name}: ${JSON.stringify(v)} is not a duration (e.g. 500ms, 1s)`
    : ms;
}

/** A VRRPv3 advertisement interval: a multiple of 10 ms from 10 ms to 40.95 s. */
export function advertIntervalFlag(v: string | undefined): number | string {
  const d = durationFlag("advert-interval", v);
  if (typeof d === "string") return d;
  if (d < 10 || d > 40950 || d % 10 !== 0) {
    return `--advert-interval: ${d} ms is not a multiple of 10ms from 10ms to 40.95s (VRRPv3 centiseconds)`;
  }
  return d;
}

/** A whole number from `min` to `max`. */
export function wholeNumberFlag(
  name: string,
  v: string | undefined,
  min: number,
  max: number,
): number | string {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < min || n > max) {
    return `--${name}: ${
      JSON.stringify(v)
    } is not a whole number ${min}-${max}`;
  }
  return n;
}

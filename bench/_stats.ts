/**
 * The benchmarks' numbers: one sample per run, medians with their range,
 * and units for the tables.
 *
 * @module
 */
import { fmtS } from "../lab/mod.ts";

/** Units of a table row. */
export type Unit = "ms" | "MiB" | "%";

/** One number per run (null: not measured or not applicable). */
export type Sample = number | null;

/** Median, range and counts of some samples. */
export interface Stats {
  median: number | null;
  min: number | null;
  max: number | null;
  /** Values measured (non-null). */
  n: number;
  /** Values that were null. */
  nulls: number;
}

/** The statistics of `values` (nulls counted apart). */
export function stats(values: Sample[]): Stats {
  const xs = values.filter((v): v is number => v !== null).sort((a, b) =>
    a - b
  );
  const nulls = values.length - xs.length;
  if (xs.length === 0) {
    return { median: null, min: null, max: null, n: 0, nulls };
  }
  const mid = Math.floor(xs.length / 2);
  const median = xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
  return { median, min: xs[0], max: xs[xs.length - 1], n: xs.length, nulls };
}

/** One value in its unit. */
export function fmtValue(v: number | null, unit: Unit): string {
  if (v === null) return "-";
  switch (unit) {
    case "ms":
      return v === 0 ? "0" : fmtS(v);
    case "MiB":
      return `${v.toFixed(1)} MiB`;
    case "%":
      return `${v.toFixed(v !== 0 && v < 0.1 ? 3 : 2)} %`;
  }
}

/** `3.570–3.601 s`, `0–615 ms`, `75.4–75.6 MiB`: one unit for both ends. */
function fmtRange(min: number, max: number, unit: Unit): string {
  switch (unit) {
    case "ms":
      return max >= 1000
        ? `${(min / 1000).toFixed(3)}–${(max / 1000).toFixed(3)} s`
        : `${Math.round(min)}–${Math.round(max)} ms`;
    case "MiB":
      return `${min.toFixed(1)}–${max.toFixed(1)} MiB`;
    case "%": {
      const d = max < 0.1 ? 3 : 2;
      return `${min.toFixed(d)}–${max.toFixed(d)} %`;
    }
  }
}

/** A cell: the median (or worst) with its range and nulls. */
export function fmtStats(
  s: Stats | undefined,
  unit: Unit,
  nullMeans?: string,
  use: "median" | "max" = "median",
  atLeast = false,
): string {
  if (!s || s.n + s.nulls === 0) return "n/a";
  if (s.n === 0) return nullMeans ?? "-";
  if (use === "max") {
    return `${atLeast ? "≥ " : ""}${fmtValue(s.max, unit)} (worst of ${
      s.n + s.nulls
    })`;
  }
  const med = `${atLeast ? "≥ " : ""}${fmtValue(s.median, unit)}`;
  const range = s.min !== null && s.max !== null && s.min !== s.max
    ? ` (${fmtRange(s.min, s.max, unit)})`
    : "";
  const nulls = s.nulls > 0 ? ` +${s.nulls}× ${nullMeans ?? "none"}` : "";
  return `${med}${range}${nulls}`;
}

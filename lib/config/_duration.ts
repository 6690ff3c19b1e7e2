/**
 * Durations as operators write them (`500ms`, `2s`, `1m30s`), held as whole
 * milliseconds. A bare number is refused on purpose: `interval: 2` could mean
 * seconds or milliseconds, and a wrong guess moves a VIP.
 */

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

/** Parses `"1m30s"` to 90000. Returns `undefined` when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (s === "0") return 0;
  if (s.length === 0) return undefined;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const at = PART.lastIndex;
    const m = PART.exec(s);
    if (!m || m.index !== at) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]];
  }
  // 400 nines of hours: beyond every field's maximum, which then names the
  // valid range; never Infinity, which no timer or message should see.
  if (total > Number.MAX_SAFE_INTEGER) return Number.MAX_SAFE_INTEGER;
  // Sub-millisecond precision is meaningless for every timer we run.
  return Math.round(total);
}

/** Formats milliseconds the shortest exact way: 90000 -> "1m30s", 1500 -> "1500ms". */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  if (ms % 1000 !== 0) return `${ms}ms`;
  let s = ms / 1000;
  const parts: string[] = [];
  const h = Math.floor(s / 3600);
  if (h) parts.push(`${h}h`);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  if (m) parts.push(`${m}m`);
  s -= m * 60;
  if (s) parts.push(`${s}s`);
  return parts.join("");
}

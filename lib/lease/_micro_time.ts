/**
 * `metav1.MicroTime`: the timestamp of a Lease's `acquireTime` and
 * `renewTime`, RFC 3339 in UTC with exactly six fractional digits
 * (`2026-11-30T12:00:00.123456Z`). The API server parses it with Go's
 * layout `2006-01-02T15:04:05.000000Z07:00`, so the three digits of
 * JavaScript's `toISOString()` are rejected there.
 *
 * Times are carried as integer microseconds since the Unix epoch: a
 * `number` holds them exactly from the year 1685 to 2255.
 */

/** Thrown for a timestamp that is not a MicroTime; `message` names what is wrong. */
export class MicroTimeError extends Error {
  /** The text that did not parse (shortened). */
  readonly text: string;

  /** An error about `text`. */
  constructor(text: string, message: string) {
    super(message);
    this.name = "MicroTimeError";
    this.text = text;
  }
}

const MAX_MICROS = 253402300799999999; // 9999-12-31T23:59:59.999999Z

/** Microseconds since the epoch for epoch milliseconds (fractions kept). */
export function microsFromMs(epochMs: number): number {
  return Math.round(epochMs * 1000);
}

/**
 * The wall clock in microseconds: `performance.timeOrigin + now()` keeps
 * sub-millisecond digits that `Date.now()` drops.
 */
export function wallMicros(): number {
  return microsFromMs(performance.timeOrigin + performance.now());
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/**
 * Formats microseconds since the epoch as a MicroTime, always UTC with six
 * fractional digits. Throws a `RangeError` outside years 0000–9999 or for a
 * value that is not an integer.
 */
export function formatMicroTime(micros: number): string {
  if (
    !Number.isSafeInteger(micros) || micros < -62167219200000000 ||
    micros > MAX_MICROS
  ) {
    throw new RangeError(`${micros} is not a MicroTime (µs since the epoch)`);
  }
  const fraction = ((micros % 1_000_000) + 1_000_000) % 1_000_000;
  const seconds = (micros - fraction) / 1_000_000;
  const d = new Date(seconds * 1000);
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${
    pad(d.getUTCDate(), 2)
  }T${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${
    pad(d.getUTCSeconds(), 2)
  }.${pad(fraction, 6)}Z`;
}

// RFC 3339: date, "T", time, optional fraction, "Z" or an offset.
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Options of {@link parseMicroTime}. */
export interface ParseMicroTimeOptions {
  /**
   * Require exactly six fractional digits, as the API server does for
   * MicroTime fields (default false: any RFC 3339 time, so a Lease written
   * by another client still decodes).
   */
  strict?: boolean;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Parses an RFC 3339 timestamp to microseconds since the epoch (digits
 * beyond the sixth are truncated, as Go's `MicroTime` does). Throws a
 * {@link MicroTimeError} saying what is wrong.
 */
export function parseMicroTime(
  text: string,
  options: ParseMicroTimeOptions = {},
): number {
  const shown = JSON.stringify(
    text.length > 64 ? `${text.slice(0, 64)}…` : text,
  );
  const m = RFC3339.exec(text);
  if (!m) {
    throw new MicroTimeError(
      text,
      `${shown} is not an RFC 3339 time; expected e.g. "2026-11-30T12:00:00.123456Z"`,
    );
  }
  const [, y, mo, d, h, mi, s, frac, z, sign, oh, om] = m;
  if (options.strict && (frac === undefined || frac.length !== 6)) {
    throw new MicroTimeError(
      text,
      `${shown} has ${
        frac?.length ?? 0
      } fractional digits; a MicroTime has exactly six, e.g. "2026-11-30T12:00:00.123456Z"`,
    );
  }
  const year = Number(y), month = Number(mo), day = Number(d);
  const hour = Number(h), minute = Number(mi), second = Number(s);
  if (
    month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) ||
    hour > 23 || minute > 59 || second > 59
  ) {
    throw new MicroTimeError(text, `${shown} is not a valid date and time`);
  }
  let offsetMin = 0;
  if (z === undefined) {
    if (Number(oh) > 23 || Number(om) > 59) {
      throw new MicroTimeError(text, `${shown} has an invalid UTC offset`);
    }
    offsetMin = (sign === "-" ? -1 : 1) * (Number(oh) * 60 + Number(om));
  }
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  const micros = Number((frac ?? "").padEnd(6, "0").slice(0, 6));
  const result = (date.getTime() - offsetMin * 60_000) * 1000 + micros;
  if (!Number.isSafeInteger(result)) {
    throw new MicroTimeError(
      text,
      `${shown} is outside the years 1685–2255 this client can represent`,
    );
  }
  return result;
}

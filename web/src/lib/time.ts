// Time zones and ranges. The API speaks UTC (RFC 3339); the dashboard shows and picks ranges in
// one explicit time zone (a setting, defaulting to the browser's).

export interface ZonedParts {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const partsFormatters = new Map<string, Intl.DateTimeFormat>();

function partsFormatter(tz: string): Intl.DateTimeFormat {
  let f = partsFormatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    partsFormatters.set(tz, f);
  }
  return f;
}

export function isValidTimeZone(tz: string): boolean {
  if (!tz) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** The wall-clock fields of `instant` in `tz`. */
export function zonedParts(instant: Date, tz: string): ZonedParts {
  const out: Record<string, number> = {};
  for (const p of partsFormatter(tz).formatToParts(instant)) {
    if (p.type !== 'literal') out[p.type] = Number(p.value);
  }
  return {
    year: out.year ?? 1970,
    month: out.month ?? 1,
    day: out.day ?? 1,
    hour: (out.hour ?? 0) % 24,
    minute: out.minute ?? 0,
    second: out.second ?? 0,
  };
}

/** Offset of `tz` from UTC at `instant`, in milliseconds (e.g. +2 h for Europe/Paris in summer). */
export function tzOffsetMs(instant: Date, tz: string): number {
  const p = zonedParts(instant, tz);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  const whole = Math.floor(instant.getTime() / 1000) * 1000;
  return asUtc - whole;
}

/** The instant when the wall clock in `tz` shows the given date and time (first one, across DST). */
export function zonedTime(
  year: number,
  month: number,
  day: number,
  tz: string,
  hour = 0,
  minute = 0,
): Date {
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  let guess = wall - tzOffsetMs(new Date(wall), tz);
  // A second pass settles the offset when the first guess fell on the other side of a DST change.
  guess = wall - tzOffsetMs(new Date(guess), tz);
  return new Date(guess);
}

export function startOfZonedDay(instant: Date, tz: string): Date {
  const p = zonedParts(instant, tz);
  return zonedTime(p.year, p.month, p.day, tz);
}

export type RangePreset = 'today' | '24h' | '7d' | '30d' | 'mtd' | 'last_month' | '90d';

export const RANGE_PRESETS: { id: RangePreset; label: string }[] = [
  { id: 'today', label: 'Today' },
  { id: '24h', label: 'Last 24 hours' },
  { id: '7d', label: 'Last 7 days' },
  { id: '30d', label: 'Last 30 days' },
  { id: 'mtd', label: 'Month to date' },
  { id: 'last_month', label: 'Last month' },
  { id: '90d', label: 'Last 90 days' },
];

export interface TimeRange {
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
}

/** The range of a preset in `tz`; day-based presets start at local midnight and include today. */
export function presetRange(preset: RangePreset, now: Date, tz: string): TimeRange {
  const p = zonedParts(now, tz);
  const dayStart = (daysBack: number) => zonedTime(p.year, p.month, p.day - daysBack, tz);
  switch (preset) {
    case 'today':
      return { from: dayStart(0), to: now };
    case '24h':
      return { from: new Date(now.getTime() - 24 * 3600_000), to: now };
    case '7d':
      return { from: dayStart(6), to: now };
    case '30d':
      return { from: dayStart(29), to: now };
    case '90d':
      return { from: dayStart(89), to: now };
    case 'mtd':
      return { from: zonedTime(p.year, p.month, 1, tz), to: now };
    case 'last_month':
      return { from: zonedTime(p.year, p.month - 1, 1, tz), to: zonedTime(p.year, p.month, 1, tz) };
  }
}

export type Bucket = 'hour' | 'day' | 'month';

/** A sensible bucket for a range: hours up to 3 days, days up to ~6 months, else months. */
export function bucketFor(range: TimeRange): Bucket {
  const hours = (range.to.getTime() - range.from.getTime()) / 3600_000;
  if (hours <= 72) return 'hour';
  if (hours <= 24 * 186) return 'day';
  return 'month';
}

export function bucketMs(bucket: Bucket): number {
  return bucket === 'hour' ? 3600_000 : bucket === 'day' ? 86_400_000 : 30 * 86_400_000;
}

/** `YYYY-MM-DDTHH:mm` in `tz`, the value of an `<input type="datetime-local">`. */
export function toLocalInput(instant: Date, tz: string): string {
  const p = zonedParts(instant, tz);
  const n = (v: number, w = 2) => String(v).padStart(w, '0');
  return `${n(p.year, 4)}-${n(p.month)}-${n(p.day)}T${n(p.hour)}:${n(p.minute)}`;
}

/** Reads an `<input type="datetime-local">` value as a wall-clock time in `tz`. */
export function fromLocalInput(value: string, tz: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value);
  if (!m) return null;
  const [, y, mo, d, h, mi] = m.map(Number) as [number, number, number, number, number, number];
  return zonedTime(y, mo, d, tz, h, mi);
}

const displayFormatters = new Map<string, Intl.DateTimeFormat>();

export type TimeStyle = 'datetime' | 'date' | 'time' | 'short';

/** Formats an instant in `tz`, with the zone's short name for full date-times. */
export function formatTime(value: Date | string | null | undefined, tz: string, style: TimeStyle = 'datetime'): string {
  if (value === null || value === undefined || value === '') return '—';
  const d = typeof value === 'string' ? new Date(value) : value;
  if (Number.isNaN(d.getTime())) return '—';
  const key = `${tz}|${style}`;
  let f = displayFormatters.get(key);
  if (!f) {
    const base: Intl.DateTimeFormatOptions = { timeZone: tz, hourCycle: 'h23' };
    const opts: Intl.DateTimeFormatOptions =
      style === 'date'
        ? { ...base, year: 'numeric', month: 'short', day: 'numeric' }
        : style === 'time'
          ? { ...base, hour: '2-digit', minute: '2-digit' }
          : style === 'short'
            ? { ...base, month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }
            : {
                ...base,
                year: 'numeric',
                month: 'short',
                day: 'numeric',
                hour: '2-digit',
                minute: '2-digit',
                second: '2-digit',
                timeZoneName: 'short',
              };
    f = new Intl.DateTimeFormat('en-GB', opts);
    displayFormatters.set(key, f);
  }
  return f.format(d);
}

/** Whole days from `from` to `now` (never negative). */
export function daysBetween(from: Date | string, now: Date): number {
  const start = typeof from === 'string' ? new Date(from) : from;
  const ms = now.getTime() - start.getTime();
  if (!Number.isFinite(ms) || ms < 0) return 0;
  return Math.floor(ms / 86_400_000);
}

/** "just now", "5 min ago", "3 h ago", "12 d ago"; "in 2 h" for the future. */
export function formatRelative(value: Date | string | null | undefined, now: Date): string {
  if (!value) return 'never';
  const d = typeof value === 'string' ? new Date(value) : value;
  const diff = now.getTime() - d.getTime();
  if (Number.isNaN(diff)) return '—';
  const abs = Math.abs(diff);
  const s = abs / 1000;
  let text: string;
  // Small clock differences between server and browser read as now, either way.
  if (s < 45) return 'just now';
  if (s < 3600) text = `${Math.round(s / 60)} min`;
  else if (s < 86_400) text = `${Math.round(s / 3600)} h`;
  else text = `${Math.round(s / 86_400)} d`;
  return diff >= 0 ? `${text} ago` : `in ${text}`;
}

/** RFC 3339 in UTC, seconds precision: what the API expects for `from`/`to`. Rounds down. */
export function toApiTime(d: Date): string {
  return new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * The end of a range (exclusive) for the API: rounded *up* to the second, so a range ending
 * "now" still holds the calls of the current second (rounding down dropped them from the
 * request list when it was opened right after the traffic).
 */
export function toApiEnd(d: Date): string {
  return toApiTime(new Date(Math.ceil(d.getTime() / 1000) * 1000));
}

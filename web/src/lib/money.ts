// Money is integer micro-dollars everywhere in Keyward (`cost_micros`): 1 USD = 1,000,000.
// These helpers never go through floating point for the digits they print.

export const MICROS_PER_USD = 1_000_000;

/** A micro-dollar amount as the API sends it: a JSON number, or a string for very large values. */
export type Micros = number | string | bigint;

function toBigInt(v: Micros): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return 0n;
    return BigInt(Math.round(v));
  }
  const t = v.trim();
  return /^-?\d+$/.test(t) ? BigInt(t) : 0n;
}

function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export interface MoneyOptions {
  /** Fraction digits to show; by default 2, or more for amounts under a cent (up to 6). */
  decimals?: number;
  /** Short form for chart axes and tiles: $1.2K, $3.4M. */
  compact?: boolean;
}

/** Formats micro-dollars as US dollars: 1_234_567 → "$1.23", 1_500 → "$0.0015". */
export function formatMicros(value: Micros, opts: MoneyOptions = {}): string {
  const micros = toBigInt(value);
  const negative = micros < 0n;
  const abs = negative ? -micros : micros;
  const sign = negative ? '-' : '';
  if (opts.compact && abs >= 1_000n * 1_000_000n) {
    const units: [bigint, string][] = [
      [1_000_000_000_000n * 1_000_000n, 'T'],
      [1_000_000_000n * 1_000_000n, 'B'],
      [1_000_000n * 1_000_000n, 'M'],
      [1_000n * 1_000_000n, 'K'],
    ];
    for (const [size, suffix] of units) {
      if (abs >= size) {
        // One decimal, rounded half up, in integer arithmetic.
        const tenths = (abs * 10n + size / 2n) / size;
        const whole = tenths / 10n;
        const frac = tenths % 10n;
        return `${sign}$${groupThousands(whole.toString())}${frac === 0n ? '' : `.${frac}`}${suffix}`;
      }
    }
  }
  let decimals = opts.decimals;
  if (decimals === undefined) {
    decimals = 2;
    if (abs > 0n && abs < 10_000n) {
      // Under a cent: show two significant digits, at most six decimals.
      const digits = abs.toString().length; // 1..4
      decimals = Math.min(6, 6 - digits + 2);
    }
  }
  decimals = Math.max(0, Math.min(6, Math.trunc(decimals)));
  const scale = 10n ** BigInt(6 - decimals);
  const rounded = (abs + scale / 2n) / scale; // half up
  const unit = 10n ** BigInt(decimals);
  const whole = rounded / unit;
  const frac = rounded % unit;
  const fracText = decimals > 0 ? `.${frac.toString().padStart(decimals, '0')}` : '';
  return `${sign}$${groupThousands(whole.toString())}${fracText}`;
}

/** Micro-dollars as a plain number of dollars, for charts only (never for display of exact sums). */
export function microsToDollars(value: Micros): number {
  return Number(toBigInt(value)) / MICROS_PER_USD;
}

/**
 * Parses what a person typed as dollars ("12", "12.5", "$1,200.25") into integer micro-dollars.
 * Returns null for anything that is not a non-negative amount with at most six decimals.
 */
export function parseDollars(text: string): number | null {
  const t = text.trim().replace(/^\$/, '').replace(/,/g, '');
  const m = /^(\d+)(?:\.(\d{0,6}))?$/.exec(t);
  if (!m) return null;
  const whole = BigInt(m[1] ?? '0');
  const frac = BigInt((m[2] ?? '').padEnd(6, '0') || '0');
  const micros = whole * 1_000_000n + frac;
  if (micros > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return Number(micros);
}

/** Percentage of `part` in `whole`, 0 when whole is 0. */
export function percentOf(part: number, whole: number): number {
  if (!whole) return 0;
  return (part / whole) * 100;
}

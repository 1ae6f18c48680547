// The body of `POST /api/v1/pricing/overrides`: a discount or replacement prices.

import { parseDollars } from './money';

export interface OverrideFormValues {
  provider: string;
  model: string;
  mode: 'discount' | 'replace';
  /** Percent off, e.g. "12.5". */
  discount: string;
  /** Dollars per 1M tokens (request fee: per request); empty optional prices keep the list price. */
  input: string;
  output: string;
  cached_input: string;
  request_fee: string;
  /** ISO time, or empty for now. */
  effective_from: string;
}

export function overrideBody(v: OverrideFormValues): { body: Record<string, unknown> } | { errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const model = v.model.trim() || '*';
  if (/\s/.test(model)) errors.model = 'A model id, or * for every model';
  const body: Record<string, unknown> = { provider: v.provider, model };
  if (v.effective_from) {
    if (new Date(v.effective_from).getTime() < Date.now() - 60_000) errors.effective_from = 'Cannot be in the past: costs are computed once, at ingest';
    else body.effective_from = v.effective_from;
  }
  if (v.mode === 'discount') {
    const pct = Number(v.discount.trim().replace(/%$/, ''));
    const bps = Math.round(pct * 100);
    if (!v.discount.trim() || !Number.isFinite(pct) || bps < 1 || bps > 10_000) errors.discount = 'A discount from 0.01 to 100 %';
    else body.discount_bps = bps;
  } else {
    if (model === '*') errors.model = 'Replacement prices need one model (discounts may use *)';
    const price = (k: 'input' | 'output' | 'cached_input' | 'request_fee', required: boolean): number | undefined => {
      const t = v[k].trim();
      if (!t) {
        if (required) errors[k] = 'Required';
        return undefined;
      }
      const m = parseDollars(t);
      if (m === null) errors[k] = 'Dollars, e.g. 2.50';
      return m ?? undefined;
    };
    const replace: Record<string, number> = {};
    const input = price('input', true);
    const output = price('output', true);
    const cached = price('cached_input', false);
    const fee = price('request_fee', false);
    if (input !== undefined) replace.input = input;
    if (output !== undefined) replace.output = output;
    if (cached !== undefined) replace.cached_input = cached;
    replace.request_fee = fee ?? 0;
    body.replace = replace;
  }
  return Object.keys(errors).length ? { errors } : { body };
}

import { describe, expect, it } from 'vitest';
import { overrideBody } from './pricing';

const base = { provider: 'openai', model: '', mode: 'discount' as const, discount: '12.5', input: '', output: '', cached_input: '', request_fee: '', effective_from: '' };

describe('overrideBody', () => {
  it('sends a discount in basis points, for every model by default', () => {
    expect(overrideBody(base)).toEqual({ body: { provider: 'openai', model: '*', discount_bps: 1250 } });
  });
  it('sends replacement prices in micro-dollars per 1M tokens', () => {
    expect(overrideBody({ ...base, mode: 'replace', model: 'gpt-4o', input: '2.5', output: '10', cached_input: '1.25' })).toEqual({
      body: { provider: 'openai', model: 'gpt-4o', replace: { input: 2_500_000, output: 10_000_000, cached_input: 1_250_000, request_fee: 0 } },
    });
  });
  it('refuses what the gateway refuses', () => {
    expect(overrideBody({ ...base, discount: '0' })).toHaveProperty('errors.discount');
    expect(overrideBody({ ...base, discount: '101' })).toHaveProperty('errors.discount');
    expect(overrideBody({ ...base, mode: 'replace', input: '1' })).toEqual({ errors: { model: expect.any(String), output: 'Required' } });
    expect(overrideBody({ ...base, effective_from: '2000-01-01T00:00:00Z' })).toHaveProperty('errors.effective_from');
  });
  it('keeps a future start', () => {
    const later = new Date(Date.now() + 86_400_000).toISOString();
    expect(overrideBody({ ...base, effective_from: later })).toMatchObject({ body: { effective_from: later } });
  });
});

import { describe, expect, it } from 'vitest';
import { aliasBody } from './aliases';

describe('aliasBody', () => {
  it('sends the trimmed alias and target', () => {
    expect(aliasBody({ alias: ' fast ', target: ' openai/gpt-4o-mini ' })).toEqual({ body: { alias: 'fast', target: 'openai/gpt-4o-mini' } });
    expect(aliasBody({ alias: 'team-a:cheap.v2', target: 'gpt-4o-mini' })).toEqual({ body: { alias: 'team-a:cheap.v2', target: 'gpt-4o-mini' } });
  });
  it('refuses what the gateway refuses', () => {
    expect(aliasBody({ alias: '', target: '' })).toEqual({ errors: { alias: 'Required', target: 'Required' } });
    expect(aliasBody({ alias: 'openai/fast', target: 'gpt-4o' })).toHaveProperty('errors.alias');
    expect(aliasBody({ alias: '-fast', target: 'gpt-4o' })).toHaveProperty('errors.alias');
    expect(aliasBody({ alias: 'a'.repeat(101), target: 'gpt-4o' })).toHaveProperty('errors.alias');
    expect(aliasBody({ alias: 'a'.repeat(100), target: 'gpt-4o' })).toHaveProperty('body');
    expect(aliasBody({ alias: 'fast', target: 'gpt 4o' })).toHaveProperty('errors.target');
    expect(aliasBody({ alias: 'gpt-4o', target: 'gpt-4o' })).toEqual({ errors: { target: 'An alias cannot point to itself' } });
  });
});

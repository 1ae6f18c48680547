import { describe, expect, it } from 'vitest';
import {
  auditExportPath,
  auditQuery,
  breakdownQuery,
  drillDown,
  isCidr,
  splitList,
  topQuery,
  usageExportPath,
} from './query';

const range = { from: new Date('2025-07-01T00:00:00Z'), to: new Date('2025-07-08T00:00:00Z') };

describe('breakdownQuery', () => {
  it('builds range, dimensions, bucket and paging', () => {
    const q = breakdownQuery({ range, groupBy: ['model', 'team'], bucket: 'day', pageSize: 50 });
    expect(q).toBe('from=2025-07-01T00%3A00%3A00Z&to=2025-07-08T00%3A00%3A00Z&group_by=model%2Cteam&bucket=day&page_size=50');
  });
  it('drops duplicates, empty filters and caps at three dimensions', () => {
    const q = new URLSearchParams(
      breakdownQuery({
        range,
        groupBy: ['model', 'model', 'team', 'provider', 'user'],
        filters: { models: ['gpt-4o', ' gpt-4o ', ''], team_ids: [], providers: ['openai'] },
        bucket: 'none',
      }),
    );
    expect(q.get('group_by')).toBe('model,team,provider');
    expect(q.get('models')).toBe('gpt-4o');
    expect(q.has('team_ids')).toBe(false);
    expect(q.get('providers')).toBe('openai');
    expect(q.has('bucket')).toBe(false);
  });
  it('adds sort, search and cursor only when set', () => {
    const q = new URLSearchParams(
      breakdownQuery({ range, groupBy: ['model'], sort: { field: 'cost_micros', dir: 'desc' }, search: ' gpt ', cursor: 'abc' }),
    );
    expect(q.get('sort')).toBe('-cost_micros');
    expect(q.get('q')).toBe('gpt');
    expect(q.get('cursor')).toBe('abc');
    const plain = new URLSearchParams(breakdownQuery({ range, groupBy: ['model'], sort: null, search: '  ' }));
    expect(plain.has('sort')).toBe(false);
    expect(plain.has('q')).toBe(false);
    expect(new URLSearchParams(breakdownQuery({ range, groupBy: [], sort: { field: 'requests', dir: 'asc' } })).get('sort')).toBe('requests');
  });
  it('clamps page size', () => {
    expect(new URLSearchParams(breakdownQuery({ range, groupBy: [], pageSize: 99_999 })).get('page_size')).toBe('10000');
  });
  it('exports with the same filters and no paging', () => {
    const path = usageExportPath({ range, groupBy: ['model'], filters: { providers: ['openai'] }, pageSize: 50, cursor: 'x' });
    const q = new URLSearchParams(path.split('?')[1]);
    expect(path.startsWith('/api/v1/usage/breakdown?')).toBe(true);
    expect(q.get('format')).toBe('csv');
    expect(q.get('providers')).toBe('openai');
    expect(q.has('cursor')).toBe(false);
    expect(q.has('page_size')).toBe(false);
  });
  it('drills down by replacing the dimension filter', () => {
    expect(drillDown({ models: ['a', 'b'], providers: ['openai'] }, 'model', 'c')).toEqual({ models: ['c'], providers: ['openai'] });
    expect(drillDown({}, 'virtual_key', 'k1')).toEqual({ virtual_key_ids: ['k1'] });
  });
  it('builds top queries', () => {
    expect(new URLSearchParams(topQuery(range, 'model', 5)).get('dimension')).toBe('model');
  });
});

describe('auditQuery', () => {
  it('includes only set filters', () => {
    expect(auditQuery({})).toBe('');
    const q = new URLSearchParams(
      auditQuery({ action: ' provider_key.resolve ', outcome: 'denied', actor_id: '', from: new Date('2025-07-01T00:00:00Z'), to: null }, { pageSize: 5000, cursor: 'c1' }),
    );
    expect(q.get('action')).toBe('provider_key.resolve');
    expect(q.get('outcome')).toBe('denied');
    expect(q.has('actor_id')).toBe(false);
    expect(q.get('from')).toBe('2025-07-01T00:00:00Z');
    expect(q.has('to')).toBe(false);
    expect(q.get('page_size')).toBe('500');
    expect(q.get('cursor')).toBe('c1');
  });
  it('exports following the filters', () => {
    expect(auditExportPath({}, 'ndjson')).toBe('/api/v1/audit/export?format=ndjson');
    expect(auditExportPath({ resource_id: 'pk_1' }, 'csv')).toBe('/api/v1/audit/export?format=csv&resource_id=pk_1');
  });
});

describe('input helpers', () => {
  it('splits lists', () => {
    expect(splitList(' a, b\nc ,, ')).toEqual(['a', 'b', 'c']);
  });
  it('validates CIDR ranges', () => {
    expect(isCidr('10.0.0.0/8')).toBe(true);
    expect(isCidr('192.168.1.7')).toBe(true);
    expect(isCidr('2001:db8::/32')).toBe(true);
    expect(isCidr('10.0.0.0/33')).toBe(false);
    expect(isCidr('300.1.1.1/8')).toBe(false);
    expect(isCidr('10.0.0/8')).toBe(false);
    expect(isCidr('2001:db8::1::/64')).toBe(false);
    expect(isCidr('hello')).toBe(false);
  });
});

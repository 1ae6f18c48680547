import { describe, expect, it } from 'vitest';
import {
  auditExportPath,
  auditQuery,
  breakdownQuery,
  drillDown,
  isCidr,
  splitList,
  topQuery,
  eventsQuery,
  forecastPath,
  chargebackPath,
  utcMonth,
  toCsv,
  csvField,
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
        filters: { model: ['gpt-4o', ' gpt-4o ', ''], team_id: [], provider: ['openai'] },
        bucket: 'none',
      }),
    );
    expect(q.get('group_by')).toBe('model,team,provider');
    // The gateway's filter names (handlers/usage.rs `Filters`): singular, comma-separated.
    expect(q.get('model')).toBe('gpt-4o');
    expect(q.has('team_id')).toBe(false);
    expect(q.get('provider')).toBe('openai');
    expect(q.has('bucket')).toBe(false);
    expect([...q.keys()].every((k) => ['from', 'to', 'group_by', 'model', 'provider'].includes(k))).toBe(true);
  });
  it('adds the cursor only when set', () => {
    expect(new URLSearchParams(breakdownQuery({ range, groupBy: ['model'], cursor: 'abc' })).get('cursor')).toBe('abc');
    expect(new URLSearchParams(breakdownQuery({ range, groupBy: ['model'] })).has('cursor')).toBe(false);
  });
  it('clamps page size', () => {
    expect(new URLSearchParams(breakdownQuery({ range, groupBy: [], pageSize: 99_999 })).get('page_size')).toBe('10000');
  });
  it('builds usage event queries with status and a page size of at most 1000', () => {
    const q = new URLSearchParams(eventsQuery({ range, filters: { virtual_key_id: ['k1'] }, status: ['error', 'timeout'], pageSize: 5000 }));
    expect(q.get('virtual_key_id')).toBe('k1');
    expect(q.get('status')).toBe('error,timeout');
    expect(q.get('page_size')).toBe('1000');
    expect(q.has('group_by')).toBe(false);
  });
  it('builds forecast and chargeback paths', () => {
    expect(forecastPath(range.from, { team_id: ['t1'] })).toBe('/api/v1/cost/forecast?at=2025-07-01T00%3A00%3A00Z&team_id=t1');
    expect(chargebackPath('2025-07', 'project')).toBe('/api/v1/cost/chargeback.csv?month=2025-07&by=project');
    expect(utcMonth(new Date('2025-01-15T00:00:00Z'), -1)).toBe('2024-12');
    expect(utcMonth(new Date('2025-12-31T23:59:59Z'))).toBe('2025-12');
  });
  it('writes CSV with quoting and without formula injection', () => {
    expect(toCsv(['a', 'b'], [['x,y', 3], ['=SUM(A1)', 'say "hi"']])).toBe('a,b\r\n"x,y",3\r\n\'=SUM(A1),"say ""hi"""\r\n');
    expect(csvField(-5)).toBe('-5');
  });
  it('drills down by replacing the dimension filter', () => {
    expect(drillDown({ model: ['a', 'b'], provider: ['openai'] }, 'model', 'c')).toEqual({ model: ['c'], provider: ['openai'] });
    expect(drillDown({}, 'virtual_key', 'k1')).toEqual({ virtual_key_id: ['k1'] });
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

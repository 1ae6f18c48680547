import { describe, expect, it } from 'vitest';
import { can, grantsFor } from './permissions';

describe('grants', () => {
  it('follows the built-in role table', () => {
    const viewer = grantsFor([{ role: 'viewer' }]);
    expect(can(viewer, 'virtual_keys', 'read')).toBe(true);
    expect(can(viewer, 'virtual_keys', 'write')).toBe(false);
    expect(can(viewer, 'audit', 'read')).toBe(false);
    const billing = grantsFor([{ role: 'billing' }]);
    expect(can(billing, 'budgets', 'write')).toBe(true);
    expect(can(billing, 'users', 'read')).toBe(false);
    expect(can(grantsFor([{ role: 'auditor' }]), 'audit', 'read')).toBe(true);
    expect(can(grantsFor([{ role: 'owner' }]), 'provider_keys', 'write')).toBe(true);
  });
  it('has the pricing and alerts rows of docs/rbac.md', () => {
    const billing = grantsFor([{ role: 'billing' }]);
    expect(can(billing, 'pricing', 'write')).toBe(true);
    expect(can(billing, 'alerts', 'read')).toBe(true);
    expect(can(billing, 'alerts', 'write')).toBe(false);
    expect(can(grantsFor([{ role: 'admin' }]), 'alerts', 'write')).toBe(true);
    for (const r of ['developer', 'viewer', 'auditor']) {
      const g = grantsFor([{ role: r }]);
      expect(can(g, 'alerts', 'read') && can(g, 'pricing', 'read')).toBe(true);
      expect(can(g, 'alerts', 'write') || can(g, 'pricing', 'write')).toBe(false);
    }
  });
  it('scopes team roles to their team', () => {
    const dev = grantsFor([{ role: 'developer', team_id: 't1' }]);
    expect(can(dev, 'virtual_keys', 'write')).toBe(false);
    expect(can(dev, 'virtual_keys', 'write', { team: 't1' })).toBe(true);
    expect(can(dev, 'virtual_keys', 'write', { team: 't2' })).toBe(false);
    expect(can(dev, 'virtual_keys', 'write', { anyTeam: true })).toBe(true);
  });
  it('includes custom roles and ignores unknown ones', () => {
    const g = grantsFor([{ role: 'finops' }, { role: 'ghost' }], { finops: [{ resource: 'usage', action: 'read' }] });
    expect(can(g, 'usage', 'read')).toBe(true);
    expect(can(g, 'budgets', 'read')).toBe(false);
    expect(g.roles).toEqual(['finops', 'ghost']);
  });
});

// What the signed-in member may do, derived from `GET /api/v1/me` roles and the built-in role
// table of docs/rbac.md (plus custom roles when the caller may read them). The UI only hides and
// disables; the server decides every request regardless.

export const RESOURCES = [
  'org',
  'teams',
  'projects',
  'users',
  'invitations',
  'roles',
  'virtual_keys',
  'provider_keys',
  'audit',
  'usage',
  'budgets',
  'pricing',
  'alerts',
] as const;
export type Resource = (typeof RESOURCES)[number];
export type Action = 'read' | 'write';
export type PermKey = `${Resource}:${Action}`;

export interface Permission {
  resource: string;
  action: string;
}

const ALL: PermKey[] = RESOURCES.flatMap((r) => [`${r}:read`, `${r}:write`] as PermKey[]);

/** docs/rbac.md, "Permission table". */
export const BUILTIN_ROLES: Record<string, PermKey[]> = {
  owner: ALL,
  admin: ALL,
  developer: [
    'org:read',
    'teams:read',
    'projects:read',
    'users:read',
    'roles:read',
    'virtual_keys:read',
    'virtual_keys:write',
    'provider_keys:read',
    'usage:read',
    'budgets:read',
    'pricing:read',
    'alerts:read',
  ],
  viewer: ['org:read', 'teams:read', 'projects:read', 'users:read', 'virtual_keys:read', 'provider_keys:read', 'usage:read', 'budgets:read', 'pricing:read', 'alerts:read'],
  auditor: [
    'org:read',
    'teams:read',
    'projects:read',
    'users:read',
    'invitations:read',
    'roles:read',
    'virtual_keys:read',
    'provider_keys:read',
    'audit:read',
    'usage:read',
    'budgets:read',
    'pricing:read',
    'alerts:read',
  ],
  billing: ['org:read', 'teams:read', 'projects:read', 'usage:read', 'budgets:read', 'budgets:write', 'pricing:read', 'pricing:write', 'alerts:read'],
};

export interface RoleAssignment {
  role: string;
  team_id?: string | null;
}

/** Permissions held org-wide and in some team only. */
export interface Grants {
  orgWide: Set<PermKey>;
  inTeams: Map<PermKey, Set<string>>;
  roles: string[];
}

export function grantsFor(assignments: RoleAssignment[], customRoles: Record<string, Permission[]> = {}): Grants {
  const orgWide = new Set<PermKey>();
  const inTeams = new Map<PermKey, Set<string>>();
  for (const a of assignments) {
    const perms: PermKey[] =
      BUILTIN_ROLES[a.role] ?? (customRoles[a.role] ?? []).map((p) => `${p.resource}:${p.action}` as PermKey);
    for (const p of perms) {
      if (!a.team_id) orgWide.add(p);
      else {
        const teams = inTeams.get(p) ?? new Set<string>();
        teams.add(a.team_id);
        inTeams.set(p, teams);
      }
    }
  }
  return { orgWide, inTeams, roles: [...new Set(assignments.map((a) => a.role))] };
}

/** Whether the member may do it org-wide, or (with `team`) in that team, or (`anyTeam`) in some team. */
export function can(g: Grants, resource: Resource, action: Action, scope?: { team?: string | null; anyTeam?: boolean }): boolean {
  const key: PermKey = `${resource}:${action}`;
  if (g.orgWide.has(key)) return true;
  const teams = g.inTeams.get(key);
  if (!teams || teams.size === 0) return false;
  if (scope?.anyTeam) return true;
  return !!scope?.team && teams.has(scope.team);
}

export const NO_GRANTS: Grants = { orgWide: new Set(), inTeams: new Map(), roles: [] };

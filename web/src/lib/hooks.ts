import { useQuery } from '@tanstack/react-query';
import { api } from './api';
import type { Budget, Page, ProviderKey, Project, Team, VirtualKey, Member } from './types';

/** Fetches every page of a cursor-paged list (the small org-level lists: teams, keys, members). */
export async function fetchAll<T>(path: string, signal?: AbortSignal, max = 10): Promise<T[]> {
  const out: T[] = [];
  let after: string | undefined;
  for (let i = 0; i < max; i++) {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api.get<Page<T>>(`${path}${sep}limit=200${after ? `&after=${encodeURIComponent(after)}` : ''}`, signal);
    out.push(...page.items);
    if (!page.next_cursor) break;
    after = page.next_cursor;
  }
  return out;
}

export function useTeams(enabled = true) {
  return useQuery({ queryKey: ['teams'], queryFn: ({ signal }) => fetchAll<Team>('/api/v1/teams', signal), enabled, staleTime: 60_000 });
}

export function useProjects(enabled = true) {
  return useQuery({ queryKey: ['projects'], queryFn: ({ signal }) => fetchAll<Project>('/api/v1/projects', signal), enabled, staleTime: 60_000 });
}

export function useMembers(enabled = true) {
  return useQuery({ queryKey: ['members'], queryFn: ({ signal }) => fetchAll<Member>('/api/v1/users', signal), enabled, staleTime: 60_000 });
}

export function useProviderKeys(enabled = true) {
  return useQuery({ queryKey: ['provider-keys'], queryFn: ({ signal }) => fetchAll<ProviderKey>('/api/v1/provider-keys', signal), enabled, refetchInterval: 30_000 });
}

export function useVirtualKeys(enabled = true) {
  return useQuery({ queryKey: ['virtual-keys'], queryFn: ({ signal }) => fetchAll<VirtualKey>('/api/v1/virtual-keys', signal), enabled, refetchInterval: 30_000 });
}

/** id → display name for usage dimensions. */
export function useNames(enabled = true): (dim: string, id: string) => string {
  const teams = useTeams(enabled);
  const projects = useProjects(enabled);
  const vkeys = useVirtualKeys(enabled);
  const pkeys = useProviderKeys(enabled);
  const members = useMembers(enabled);
  return (dim, id) => {
    if (!id) return '(none)';
    const find = (list: { id: string; name?: string; email?: string }[] | undefined) => {
      const f = list?.find((x) => x.id === id);
      return f ? (f.name || f.email || id) : id;
    };
    switch (dim) {
      case 'team':
        return find(teams.data);
      case 'project':
        return find(projects.data);
      case 'virtual_key':
        return find(vkeys.data);
      case 'provider_key':
        return find(pkeys.data);
      case 'user':
        return find(members.data);
      default:
        return id;
    }
  };
}

/** The budgets the caller may read, with their live state (one query shared by every page). */
export function useBudgets(refetchInterval = 3_000) {
  return useQuery({
    queryKey: ['budgets'],
    queryFn: async ({ signal }) => (await api.get<Page<Budget>>('/api/v1/budgets', signal)).items,
    refetchInterval,
  });
}

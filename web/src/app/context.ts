import { createContext, useContext } from 'react';
import { NO_GRANTS, can, type Action, type Grants, type Resource } from '../lib/permissions';
import type { Me } from '../lib/types';

export interface AppCtx {
  me: Me | null;
  grants: Grants;
  tz: string;
  live: boolean;
}

export const Ctx = createContext<AppCtx>({ me: null, grants: NO_GRANTS, tz: 'UTC', live: false });

export function useApp(): AppCtx {
  return useContext(Ctx);
}

/** Whether the member may do it anywhere (org-wide or in some team); the server has the last word. */
export function useCan(resource: Resource, action: Action, team?: string | null): boolean {
  const { grants } = useApp();
  return team === undefined ? can(grants, resource, action, { anyTeam: true }) : can(grants, resource, action, { team });
}

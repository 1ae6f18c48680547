import { useProjects, useTeams } from '../lib/hooks';
import type { Scope } from '../lib/types';

/** Team and project selects; the values are read from the form by name (`team_id`, `project_id`). */
export function ScopeFields({ idPrefix }: { idPrefix: string }) {
  const teams = useTeams();
  const projects = useProjects();
  return (
    <div className="two">
      <label className="field" htmlFor={`${idPrefix}-team`}>
        Team
        <span className="hint">Empty: the whole organization.</span>
        <select id={`${idPrefix}-team`} name="team_id" defaultValue="">
          <option value="">Organization-wide</option>
          {(teams.data ?? []).map((t) => (
            <option key={t.id} value={t.id}>
              {t.name}
            </option>
          ))}
        </select>
      </label>
      <label className="field" htmlFor={`${idPrefix}-project`}>
        Project
        <span className="hint">Optional; a project's team applies.</span>
        <select id={`${idPrefix}-project`} name="project_id" defaultValue="">
          <option value="">None</option>
          {(projects.data ?? []).map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}

export function scopeFromForm(f: FormData): Scope | undefined {
  const team_id = String(f.get('team_id') ?? '') || null;
  const project_id = String(f.get('project_id') ?? '') || null;
  if (!team_id && !project_id) return undefined;
  return { ...(team_id ? { team_id } : {}), ...(project_id ? { project_id } : {}) };
}

export function ScopeText({ scope }: { scope: Scope }) {
  const teams = useTeams();
  const projects = useProjects();
  if (scope.project_id) return <>Project {projects.data?.find((p) => p.id === scope.project_id)?.name ?? scope.project_id.slice(0, 8)}</>;
  if (scope.team_id) return <>Team {teams.data?.find((t) => t.id === scope.team_id)?.name ?? scope.team_id.slice(0, 8)}</>;
  if (scope.user_id) return <>User</>;
  return <>Organization</>;
}

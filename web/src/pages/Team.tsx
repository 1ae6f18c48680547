import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../lib/api';
import { useApp, useCan } from '../app/context';
import { fetchAll, useMembers, useTeams } from '../lib/hooks';
import { RESOURCES } from '../lib/permissions';
import { formatTime } from '../lib/time';
import type { Assignment, Invitation, Member, Page, Role } from '../lib/types';
import { ActionError, Empty, ErrorState, Loading } from '../components/states';
import { Badge, CopyButton, Dialog, PageHead, StatusBadge, useToast } from '../components/ui';

function useRoles(enabled: boolean) {
  return useQuery({ queryKey: ['roles'], queryFn: async ({ signal }) => (await api.get<Page<Role>>('/api/v1/roles', signal)).items, enabled });
}

function Members() {
  const { tz, me } = useApp();
  const canWrite = useCan('users', 'write');
  const canRoles = useCan('roles', 'read');
  const canGrant = useCan('roles', 'write');
  const members = useMembers();
  const teams = useTeams();
  const roles = useRoles(canRoles);
  const assignments = useQuery({
    queryKey: ['role-assignments'],
    queryFn: ({ signal }) => fetchAll<Assignment>('/api/v1/role-assignments', signal),
    enabled: canRoles,
  });
  const [granting, setGranting] = useState<Member | null>(null);
  const [removing, setRemoving] = useState<Member | null>(null);
  const qc = useQueryClient();
  const toast = useToast();
  const grant = useMutation({
    mutationFn: (body: unknown) => api.post('/api/v1/role-assignments', body),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['role-assignments'] });
      void qc.invalidateQueries({ queryKey: ['me'] });
      setGranting(null);
      toast('Role granted');
    },
  });
  const revoke = useMutation({
    mutationFn: (id: string) => api.del(`/api/v1/role-assignments/${id}`),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['role-assignments'] });
      void qc.invalidateQueries({ queryKey: ['me'] });
    },
  });
  const remove = useMutation({
    mutationFn: (id: string) => api.del(`/api/v1/users/${id}`),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['members'] });
      setRemoving(null);
      toast('Member removed');
    },
  });
  const teamName = (id: string | null) => (id ? (teams.data?.find((t) => t.id === id)?.name ?? id.slice(0, 8)) : null);
  const submitGrant = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    if (!granting) return;
    const f = new FormData(e.currentTarget);
    const team = String(f.get('team') ?? '');
    grant.mutate({ user_id: granting.id, role: String(f.get('role') ?? ''), ...(team ? { team_id: team } : {}) });
  };
  if (members.isPending) return <Loading />;
  if (members.error) return <ErrorState error={members.error} what="members" onRetry={() => void members.refetch()} />;
  return (
    <>
      <ActionError error={revoke.error} />
      <div className="table-wrap">
        <table>
          <caption className="sr-only">Members</caption>
          <thead>
            <tr>
              <th scope="col">Member</th>
              <th scope="col">Roles</th>
              <th scope="col">Joined</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {members.data.map((m) => (
              <tr key={m.id}>
                <td>
                  <strong>{m.name || m.email}</strong>
                  <div className="muted">{m.email}</div>
                  {m.disabled && <Badge tone="bad">disabled</Badge>}
                </td>
                <td>
                  <div className="row">
                    {(assignments.data ?? [])
                      .filter((a) => a.user_id === m.id)
                      .map((a) => (
                        <span key={a.id} className="badge">
                          {a.role}
                          {a.team_id ? ` · ${teamName(a.team_id)}` : ''}
                          {canGrant && (
                            <button type="button" className="link small" onClick={() => revoke.mutate(a.id)} aria-label={`Remove role ${a.role} from ${m.email}`}>
                              ✕
                            </button>
                          )}
                        </span>
                      ))}
                    {!canRoles && <span className="muted">—</span>}
                  </div>
                </td>
                <td>{formatTime(m.joined_at, tz, 'date')}</td>
                <td>
                  <div className="row">
                    {canGrant && (
                      <button type="button" className="small" onClick={() => setGranting(m)} aria-label={`Grant role to ${m.email}`}>
                        Grant role
                      </button>
                    )}
                    {canWrite && m.id !== me?.user_id && (
                      <button type="button" className="small danger" onClick={() => setRemoving(m)} aria-label={`Remove ${m.email}`}>
                        Remove
                      </button>
                    )}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Dialog open={granting !== null} onClose={() => setGranting(null)} title={`Grant a role${granting ? ` to ${granting.email}` : ''}`}>
        <form className="form" onSubmit={submitGrant}>
          <label className="field" htmlFor="g-role">
            Role
            <select id="g-role" name="role">
              {(roles.data ?? []).map((r) => (
                <option key={r.name} value={r.name}>
                  {r.name}
                  {r.builtin ? '' : ' (custom)'}
                </option>
              ))}
            </select>
          </label>
          <label className="field" htmlFor="g-team">
            Where
            <select id="g-team" name="team">
              <option value="">Organization-wide</option>
              {(teams.data ?? []).map((t) => (
                <option key={t.id} value={t.id}>
                  Team {t.name}
                </option>
              ))}
            </select>
          </label>
          <ActionError error={grant.error} />
          <div className="row end">
            <button type="submit" className="primary" disabled={grant.isPending}>
              Grant
            </button>
          </div>
        </form>
      </Dialog>
      <Dialog open={removing !== null} onClose={() => setRemoving(null)} title="Remove member">
        {removing && (
          <>
            <p>
              Remove <strong>{removing.email}</strong> from the organization? Their roles and sessions end at once.
            </p>
            <ActionError error={remove.error} />
            <div className="row end">
              <button type="button" onClick={() => setRemoving(null)}>
                Cancel
              </button>
              <button type="button" className="danger" onClick={() => remove.mutate(removing.id)}>
                Remove
              </button>
            </div>
          </>
        )}
      </Dialog>
    </>
  );
}

function Invitations() {
  const { tz } = useApp();
  const canWrite = useCan('invitations', 'write');
  const teams = useTeams();
  const roles = useRoles(true);
  const [token, setToken] = useState<{ email: string; token: string } | null>(null);
  const qc = useQueryClient();
  const q = useQuery({ queryKey: ['invitations'], queryFn: ({ signal }) => fetchAll<Invitation>('/api/v1/invitations', signal) });
  const create = useMutation({
    mutationFn: (body: { email: string }) => api.post<{ invitation: Invitation; token: string }>('/api/v1/invitations', body),
    onSuccess: (r) => {
      void qc.invalidateQueries({ queryKey: ['invitations'] });
      setToken({ email: r.invitation.email, token: r.token });
    },
  });
  const revoke = useMutation({ mutationFn: (id: string) => api.del(`/api/v1/invitations/${id}`), onSuccess: () => void qc.invalidateQueries({ queryKey: ['invitations'] }) });
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const team = String(f.get('team') ?? '');
    create.mutate({ email: String(f.get('email') ?? '').trim(), role: String(f.get('role') ?? 'viewer'), ...(team ? { team_id: team } : {}) } as { email: string });
    e.currentTarget.reset();
  };
  return (
    <div className="stack">
      {canWrite && (
        <form className="card form" onSubmit={submit} aria-label="Invite a member">
          <h3>Invite someone</h3>
          <div className="row" style={{ alignItems: 'flex-end' }}>
            <label className="field" htmlFor="i-email">
              E-mail
              <input id="i-email" name="email" type="email" required />
            </label>
            <label className="field" htmlFor="i-role">
              Role
              <select id="i-role" name="role" defaultValue="developer">
                {(roles.data ?? [{ name: 'viewer' }, { name: 'developer' }]).map((r) => (
                  <option key={r.name}>{r.name}</option>
                ))}
              </select>
            </label>
            <label className="field" htmlFor="i-team">
              Team
              <select id="i-team" name="team">
                <option value="">Organization-wide</option>
                {(teams.data ?? []).map((t) => (
                  <option key={t.id} value={t.id}>
                    {t.name}
                  </option>
                ))}
              </select>
            </label>
            <button type="submit" className="primary" disabled={create.isPending}>
              Invite
            </button>
          </div>
          <ActionError error={create.error} />
        </form>
      )}
      {token && (
        <div className="secret-once" role="region" aria-label="Invitation token">
          <strong>Invitation for {token.email}</strong>
          <p style={{ margin: 0 }}>Send this token to them; it is shown once. They accept it with their new password.</p>
          <code>{token.token}</code>
          <div className="row">
            <CopyButton text={token.token} />
            <button type="button" className="small primary" onClick={() => setToken(null)}>
              Done
            </button>
          </div>
        </div>
      )}
      <ActionError error={revoke.error} />
      {q.isPending ? (
        <Loading />
      ) : q.error ? (
        <ErrorState error={q.error} what="invitations" onRetry={() => void q.refetch()} />
      ) : q.data.length === 0 ? (
        <Empty title="No invitations" />
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Invitations</caption>
            <thead>
              <tr>
                <th scope="col">E-mail</th>
                <th scope="col">Role</th>
                <th scope="col">Status</th>
                <th scope="col">Expires</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {q.data.map((i) => (
                <tr key={i.id}>
                  <td>{i.email}</td>
                  <td>{i.role}</td>
                  <td>
                    <StatusBadge value={i.status} />
                  </td>
                  <td>{formatTime(i.expires_at, tz, 'short')}</td>
                  <td>
                    {canWrite && i.status === 'pending' && (
                      <button type="button" className="small danger" onClick={() => revoke.mutate(i.id)} aria-label={`Revoke invitation for ${i.email}`}>
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function Roles() {
  const canWrite = useCan('roles', 'write');
  const q = useRoles(true);
  const [creating, setCreating] = useState(false);
  const qc = useQueryClient();
  const create = useMutation({
    mutationFn: (body: unknown) => api.post('/api/v1/roles', body),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['roles'] });
      setCreating(false);
    },
  });
  const remove = useMutation({ mutationFn: (name: string) => api.del(`/api/v1/roles/${encodeURIComponent(name)}`), onSuccess: () => void qc.invalidateQueries({ queryKey: ['roles'] }) });
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const permissions = f.getAll('perm').map((p) => {
      const [resource, action] = String(p).split(':');
      return { resource, action };
    });
    create.mutate({ name: String(f.get('name') ?? '').trim(), description: String(f.get('description') ?? ''), permissions });
  };
  return (
    <>
      {canWrite && (
        <div className="row end" style={{ marginBottom: '0.75rem' }}>
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            New custom role
          </button>
        </div>
      )}
      <ActionError error={remove.error} />
      {q.isPending ? (
        <Loading />
      ) : q.error ? (
        <ErrorState error={q.error} what="roles" onRetry={() => void q.refetch()} />
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Roles</caption>
            <thead>
              <tr>
                <th scope="col">Role</th>
                <th scope="col">Permissions</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {q.data.map((r) => (
                <tr key={r.name}>
                  <td>
                    <strong>{r.name}</strong> {r.builtin ? <Badge>built-in</Badge> : <Badge tone="ok">custom</Badge>}
                    <div className="muted">{r.description}</div>
                  </td>
                  <td style={{ maxWidth: 520 }}>
                    <span className="muted">{r.permissions.map((p) => `${p.resource}:${p.action}`).join(', ')}</span>
                  </td>
                  <td>
                    {canWrite && !r.builtin && (
                      <button type="button" className="small danger" onClick={() => remove.mutate(r.name)} aria-label={`Delete role ${r.name}`}>
                        Delete
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Dialog open={creating} onClose={() => setCreating(false)} title="New custom role">
        <form className="form" onSubmit={submit}>
          <label className="field" htmlFor="cr-name">
            Name
            <span className="hint">Lower case letters, digits, - and _.</span>
            <input id="cr-name" name="name" required pattern="[a-z0-9_\-]+" />
          </label>
          <label className="field" htmlFor="cr-desc">
            Description
            <input id="cr-desc" name="description" />
          </label>
          <fieldset>
            <legend>Permissions</legend>
            <div className="grid cols-2" style={{ gap: '0.25rem' }}>
              {RESOURCES.flatMap((r) =>
                (['read', 'write'] as const).map((a) => (
                  <label key={`${r}:${a}`} className="check">
                    <input type="checkbox" name="perm" value={`${r}:${a}`} /> {r} · {a}
                  </label>
                )),
              )}
            </div>
          </fieldset>
          <ActionError error={create.error} />
          <div className="row end">
            <button type="submit" className="primary" disabled={create.isPending}>
              Create role
            </button>
          </div>
        </form>
      </Dialog>
    </>
  );
}

type Tab = 'members' | 'invitations' | 'roles';

export default function Team() {
  const canInv = useCan('invitations', 'read');
  const canRoles = useCan('roles', 'read');
  const [tab, setTab] = useState<Tab>('members');
  const tabs: { id: Tab; label: string; show: boolean }[] = [
    { id: 'members', label: 'Members', show: true },
    { id: 'invitations', label: 'Invitations', show: canInv },
    { id: 'roles', label: 'Roles', show: canRoles },
  ];
  return (
    <>
      <PageHead title="Team and roles" sub="Who is in the organization and what they may do. The server checks every request regardless of this page." />
      <div role="tablist" aria-label="Team views" className="row" style={{ marginBottom: '1rem' }}>
        {tabs
          .filter((t) => t.show)
          .map((t) => (
            <button key={t.id} type="button" role="tab" id={`tt-${t.id}`} aria-selected={tab === t.id} aria-controls={`tp-${t.id}`} className={tab === t.id ? 'primary' : undefined} onClick={() => setTab(t.id)}>
              {t.label}
            </button>
          ))}
      </div>
      <div role="tabpanel" id={`tp-${tab}`} aria-labelledby={`tt-${tab}`}>
        {tab === 'members' ? <Members /> : tab === 'invitations' ? <Invitations /> : <Roles />}
      </div>
    </>
  );
}

import { Component, lazy, Suspense, useCallback, useEffect, useMemo, useState, type ComponentType, type LazyExoticComponent, type ReactNode } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, signOut } from '../lib/api';
import { loadSession, onSessionChange } from '../lib/session';
import { BUILTIN_ROLES, grantsFor, can, type Resource, type Permission } from '../lib/permissions';
import type { Me, Page, Role } from '../lib/types';
import { ErrorState, Loading } from '../components/states';
import { ToastProvider, useToast } from '../components/ui';
import { Ctx, type AppCtx } from './context';
import { href, useRoute } from './router';
import { setPrefs, usePrefs, effectiveTheme } from './prefs';
import { describeEvent, useLiveEvents, type LiveEvent } from './live';
import { SignIn } from '../pages/SignIn';

interface PageDef {
  path: string;
  label: string;
  needs?: Resource;
  component: LazyExoticComponent<ComponentType>;
}

const PAGES: PageDef[] = [
  { path: '/', label: 'Overview', needs: 'usage', component: lazy(() => import('../pages/Overview')) },
  { path: '/provider-keys', label: 'Provider keys', needs: 'provider_keys', component: lazy(() => import('../pages/ProviderKeys')) },
  { path: '/virtual-keys', label: 'Virtual keys', needs: 'virtual_keys', component: lazy(() => import('../pages/VirtualKeys')) },
  { path: '/usage', label: 'Usage & cost', needs: 'usage', component: lazy(() => import('../pages/Usage')) },
  { path: '/budgets', label: 'Budgets', needs: 'budgets', component: lazy(() => import('../pages/Budgets')) },
  { path: '/alerts', label: 'Alerts', needs: 'usage', component: lazy(() => import('../pages/Alerts')) },
  { path: '/team', label: 'Team & roles', needs: 'users', component: lazy(() => import('../pages/Team')) },
  { path: '/audit', label: 'Audit', needs: 'audit', component: lazy(() => import('../pages/Audit')) },
  { path: '/settings', label: 'Settings', component: lazy(() => import('../pages/Settings')) },
];

/** Keeps the shell (navigation, sign-out) usable when a page throws while rendering. */
class PageBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  override state: { error: Error | null } = { error: null };
  static getDerivedStateFromError(error: Error) {
    return { error };
  }
  override componentDidCatch(error: Error) {
    // Still an uncaught error for the browser (and the e2e run's page-error check).
    setTimeout(() => {
      throw error;
    });
  }
  override render() {
    if (!this.state.error) return this.props.children;
    return (
      <div className="notice bad" role="alert">
        This page failed to render: {this.state.error.message}.{' '}
        <button type="button" className="small" onClick={() => this.setState({ error: null })}>
          Try again
        </button>
      </div>
    );
  }
}

function useSignedIn(): boolean {
  const [signedIn, setSignedIn] = useState(() => loadSession() !== null);
  useEffect(() => onSessionChange((t) => setSignedIn(t !== null)), []);
  return signedIn;
}

export function App() {
  const signedIn = useSignedIn();
  const qc = useQueryClient();
  useEffect(() => {
    if (!signedIn) qc.clear();
  }, [signedIn, qc]);
  return <ToastProvider>{signedIn ? <Shell /> : <SignIn />}</ToastProvider>;
}

function ThemeToggle() {
  const { theme } = usePrefs();
  const next = theme === 'system' ? (effectiveTheme() === 'dark' ? 'light' : 'dark') : theme === 'dark' ? 'light' : 'dark';
  return (
    <div className="row">
      <button type="button" className="small" onClick={() => setPrefs({ theme: next })} aria-label={`Switch to ${next} theme`}>
        {effectiveTheme() === 'dark' ? '☀ Light' : '☾ Dark'}
      </button>
      {theme !== 'system' && (
        <button type="button" className="small link" onClick={() => setPrefs({ theme: 'system' })}>
          Use system
        </button>
      )}
    </div>
  );
}

function Shell() {
  const route = useRoute();
  const { timeZone } = usePrefs();
  const toast = useToast();
  const [menuOpen, setMenuOpen] = useState(false);
  const me = useQuery({ queryKey: ['me'], queryFn: ({ signal }) => api.get<Me>('/api/v1/me', signal), staleTime: 60_000 });
  const customNames = (me.data?.roles ?? []).map((r) => r.role).filter((r) => !(r in BUILTIN_ROLES));
  const roles = useQuery({
    queryKey: ['roles'],
    queryFn: async ({ signal }) => (await api.get<Page<Role>>('/api/v1/roles', signal)).items,
    enabled: customNames.length > 0,
    staleTime: 60_000,
  });
  const grants = useMemo(() => {
    const custom: Record<string, Permission[]> = {};
    for (const r of roles.data ?? []) custom[r.name] = r.permissions;
    return grantsFor(me.data?.roles ?? [], custom);
  }, [me.data, roles.data]);

  const onEvent = useCallback(
    (e: LiveEvent) => {
      const text = describeEvent(e);
      if (text) toast(text, e.type.endsWith('exhausted') || e.type === 'alert.fired' ? 'bad' : 'warn');
    },
    [toast],
  );
  const live = useLiveEvents(!!me.data && !me.data.totp_pending, onEvent);
  const ctx: AppCtx = { me: me.data ?? null, grants, tz: timeZone, live };

  useEffect(() => setMenuOpen(false), [route.path]);

  const visible = PAGES.filter((p) => !p.needs || can(grants, p.needs, 'read', { anyTeam: true }));
  const page = PAGES.find((p) => p.path === route.path);
  const Current = page?.component;

  useEffect(() => {
    document.title = `${page?.label ?? 'Not found'} · Keyward`;
  }, [page]);

  return (
    <Ctx.Provider value={ctx}>
      <a className="skip-link" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>
        Skip to content
      </a>
      <div className="shell">
        <aside className={`sidebar${menuOpen ? ' open' : ''}`} aria-label="Main">
          <div className="brand">
            <img src="./favicon.svg" alt="" />
            Keyward
          </div>
          <nav className="nav" aria-label="Pages">
            {visible.map((p) => (
              <a key={p.path} href={href(p.path)} aria-current={route.path === p.path ? 'page' : undefined}>
                {p.label}
              </a>
            ))}
          </nav>
          <div className="sidebar-foot">
            <span className={`live${live ? ' on' : ''}`} title={live ? 'Live updates connected' : 'Live updates unavailable; pages refresh by polling'}>
              <span className="dot" aria-hidden="true" />
              {live ? 'Live' : 'Polling'}
            </span>
            <span title={me.data?.email}>{me.data?.email ?? ''}</span>
            <span>{grants.roles.join(', ')}</span>
            <ThemeToggle />
            <button type="button" className="small" onClick={() => void signOut()}>
              Sign out
            </button>
          </div>
        </aside>
        <main className="main" id="main" tabIndex={-1}>
          <div className="row" style={{ marginBottom: '0.5rem' }}>
            <button type="button" className="menu-toggle small" aria-expanded={menuOpen} onClick={() => setMenuOpen((o) => !o)}>
              ☰ Menu
            </button>
          </div>
          {me.data?.totp_pending && route.path !== '/settings' ? (
            <div className="notice warn" role="alert">
              Your organization requires a TOTP code for your role. Set one up in <a href={href('/settings')}>Settings</a>, then sign in again.
            </div>
          ) : me.isPending ? (
            <Loading label="Loading your account…" />
          ) : me.error ? (
            <ErrorState error={me.error} what="your account" onRetry={() => void me.refetch()} />
          ) : Current ? (
            <PageBoundary key={route.path}>
              <Suspense fallback={<Loading label={`Loading ${page?.label ?? 'page'}…`} />}>
                <Current />
              </Suspense>
            </PageBoundary>
          ) : (
            <div className="state">
              <h3>Page not found</h3>
              <a href={href('/')}>Go to the overview</a>
            </div>
          )}
        </main>
      </div>
    </Ctx.Provider>
  );
}

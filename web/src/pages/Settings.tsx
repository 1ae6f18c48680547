import { useMemo, useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../lib/api';
import { useApp, useCan } from '../app/context';
import { setPrefs, usePrefs, type ThemeChoice } from '../app/prefs';
import { formatTime, fromLocalInput, isValidTimeZone, browserTimeZone } from '../lib/time';
import type { ModelAlias, Org, Page, PriceOverride } from '../lib/types';
import { formatMicros } from '../lib/money';
import { overrideBody } from '../lib/pricing';
import { aliasBody } from '../lib/aliases';
import { PROVIDERS } from '../lib/providers';
import { ActionError, Empty, ErrorState, Loading, QueryView } from '../components/states';
import { CopyButton, PageHead, SimpleTable, useToast } from '../components/ui';

function zones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
  const list = intl.supportedValuesOf?.('timeZone') ?? [];
  return list.length ? ['UTC', ...list.filter((z) => z !== 'UTC')] : ['UTC', browserTimeZone()];
}

function Display() {
  const prefs = usePrefs();
  const all = useMemo(zones, []);
  const [tz, setTz] = useState(prefs.timeZone);
  const valid = isValidTimeZone(tz);
  return (
    <section className="card form" aria-labelledby="s-display">
      <h2 id="s-display">Display (this browser)</h2>
      <label className="field" htmlFor="s-tz">
        Time zone
        <span className="hint">Every date, chart and range preset uses this one zone. Budgets and rollups are in UTC on the server.</span>
        <input id="s-tz" list="s-tz-list" value={tz} onChange={(e) => setTz(e.target.value)} aria-invalid={!valid || undefined} />
        <datalist id="s-tz-list">
          {all.map((z) => (
            <option key={z} value={z} />
          ))}
        </datalist>
        {!valid && <span className="field-error">Not a known time zone</span>}
      </label>
      <div className="row">
        <button type="button" className="primary" disabled={!valid || tz === prefs.timeZone} onClick={() => setPrefs({ timeZone: tz })}>
          Use {tz}
        </button>
        <button type="button" onClick={() => { setTz(browserTimeZone()); setPrefs({ timeZone: browserTimeZone() }); }}>
          Use the browser's ({browserTimeZone()})
        </button>
        <span className="muted">Now: {formatTime(new Date(), prefs.timeZone)}</span>
      </div>
      <label className="field" htmlFor="s-theme">
        Theme
        <select id="s-theme" value={prefs.theme} onChange={(e) => setPrefs({ theme: e.target.value as ThemeChoice })}>
          <option value="system">Follow the system</option>
          <option value="light">Light</option>
          <option value="dark">Dark</option>
        </select>
      </label>
    </section>
  );
}

function OrgSettings() {
  const { me } = useApp();
  const canWrite = useCan('org', 'write');
  const qc = useQueryClient();
  const toast = useToast();
  const org = useQuery({ queryKey: ['org', me?.org_id], queryFn: ({ signal }) => api.get<Org>(`/api/v1/orgs/${me?.org_id ?? ''}`, signal), enabled: !!me });
  const save = useMutation({
    mutationFn: (body: Partial<Org>) => api.patch<Org>(`/api/v1/orgs/${me?.org_id ?? ''}`, body),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['org'] });
      toast('Organization saved');
    },
  });
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    save.mutate({ name: String(f.get('name') ?? '').trim(), require_totp: f.get('require_totp') === 'on' });
  };
  return (
    <section className="card" aria-labelledby="s-org">
      <h2 id="s-org">Organization</h2>
      {org.isPending ? (
        <Loading />
      ) : org.error ? (
        <ErrorState error={org.error} what="the organization" />
      ) : (
        <form className="form" onSubmit={submit} key={org.data.updated_at}>
          <label className="field" htmlFor="s-name">
            Name
            <input id="s-name" name="name" defaultValue={org.data.name} disabled={!canWrite} required />
          </label>
          <label className="check">
            <input type="checkbox" name="require_totp" defaultChecked={org.data.require_totp} disabled={!canWrite} /> Require a TOTP code from owners and admins
          </label>
          <p className="muted" style={{ margin: 0 }}>
            Turning this on requires your own sign-in to have used a code. Id <code>{org.data.id}</code>
          </p>
          <ActionError error={save.error} />
          {canWrite && (
            <div className="row end">
              <button type="submit" className="primary" disabled={save.isPending}>
                Save
              </button>
            </div>
          )}
        </form>
      )}
    </section>
  );
}

function Totp() {
  const { me } = useApp();
  const qc = useQueryClient();
  const toast = useToast();
  // The enrolment secret is shown until confirmed, then dropped.
  const [enrolment, setEnrolment] = useState<{ secret: string; otpauth_url: string } | null>(null);
  const enroll = useMutation({ mutationFn: () => api.post<{ secret: string; otpauth_url: string }>('/api/v1/me/totp/enroll'), onSuccess: setEnrolment });
  const confirm = useMutation({
    mutationFn: (code: string) => api.post('/api/v1/me/totp/confirm', { code }),
    onSuccess: () => {
      setEnrolment(null);
      void qc.invalidateQueries({ queryKey: ['me'] });
      toast('Two-factor sign-in is on. Sign in again to use it.');
    },
  });
  const disable = useMutation({
    mutationFn: (code: string) => api.post('/api/v1/me/totp/disable', { code }),
    onSuccess: () => toast('Two-factor sign-in is off'),
  });
  return (
    <section className="card form" aria-labelledby="s-totp">
      <h2 id="s-totp">Your two-factor sign-in (TOTP)</h2>
      <p className="muted" style={{ margin: 0 }}>
        This sign-in {me?.mfa ? 'used' : 'did not use'} a code.{me?.totp_pending ? ' Your organization requires one for your role.' : ''}
      </p>
      {enrolment ? (
        <form
          className="form"
          onSubmit={(e) => {
            e.preventDefault();
            confirm.mutate(String(new FormData(e.currentTarget).get('code') ?? '').trim());
          }}
        >
          <p style={{ margin: 0 }}>Add this secret to your authenticator app, then enter the code it shows.</p>
          <div className="row">
            <code>{enrolment.secret}</code>
            <CopyButton text={enrolment.secret} />
            <CopyButton text={enrolment.otpauth_url} label="Copy otpauth URL" />
          </div>
          <label className="field" htmlFor="s-code">
            Code
            <input id="s-code" name="code" inputMode="numeric" autoComplete="one-time-code" maxLength={6} required />
          </label>
          <ActionError error={confirm.error} />
          <div className="row">
            <button type="submit" className="primary">
              Confirm
            </button>
            <button type="button" onClick={() => setEnrolment(null)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <div className="row">
          <button type="button" onClick={() => enroll.mutate()} disabled={enroll.isPending}>
            Set up TOTP
          </button>
          <form
            className="row"
            onSubmit={(e) => {
              e.preventDefault();
              disable.mutate(String(new FormData(e.currentTarget).get('code') ?? '').trim());
            }}
          >
            <label htmlFor="s-dis" className="sr-only">
              Current code to turn TOTP off
            </label>
            <input id="s-dis" name="code" placeholder="Code to turn off" inputMode="numeric" maxLength={6} />
            <button type="submit" className="small">
              Turn off
            </button>
          </form>
        </div>
      )}
      <ActionError error={enroll.error ?? disable.error} />
    </section>
  );
}

/** A labelled input with its validation message (announced through aria-describedby). */
function CheckedField({ id, name, label, error, props }: { id: string; name: string; label: string; error?: string; props: Record<string, unknown> }) {
  return (
    <label className="field" htmlFor={id}>
      {label}
      <input id={id} name={name} aria-invalid={error ? true : undefined} aria-describedby={error ? `${id}-err` : undefined} {...props} />
      {error && (
        <span id={`${id}-err`} className="field-error">
          {error}
        </span>
      )}
    </label>
  );
}

function adjustment(o: PriceOverride): string {
  if (o.discount_bps !== undefined) return `${(o.discount_bps / 100).toFixed(2)}% off`;
  const r = o.replace;
  if (!r) return '—';
  const parts = [`in ${formatMicros(r.input)}`, `out ${formatMicros(r.output)}`];
  if (r.cached_input != null) parts.push(`cached ${formatMicros(r.cached_input)}`);
  if (r.request_fee) parts.push(`fee ${formatMicros(r.request_fee)}/request`);
  return `${parts.join(' · ')} per 1M tokens`;
}

function PriceOverrides() {
  const canWrite = useCan('pricing', 'write', null);
  const qc = useQueryClient();
  const toast = useToast();
  const [mode, setMode] = useState<'discount' | 'replace'>('discount');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const q = useQuery({ queryKey: ['pricing', 'overrides'], queryFn: async ({ signal }) => (await api.get<Page<PriceOverride>>('/api/v1/pricing/overrides', signal)).items });
  const add = useMutation({
    mutationFn: (body: unknown) => api.post<PriceOverride>('/api/v1/pricing/overrides', body),
    onSuccess: (o) => {
      void qc.invalidateQueries({ queryKey: ['pricing'] });
      toast(`Override for ${o.provider} ${o.model} added`);
    },
  });
  const remove = useMutation({ mutationFn: (id: string) => api.del(`/api/v1/pricing/overrides/${id}`), onSuccess: () => void qc.invalidateQueries({ queryKey: ['pricing'] }) });
  const { tz } = useApp();
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const v = (k: string) => String(f.get(k) ?? '');
    const from = v('effective_from') ? fromLocalInput(v('effective_from'), tz) : null;
    const r = overrideBody({ provider: v('provider'), model: v('model'), mode, discount: v('discount'), input: v('input'), output: v('output'), cached_input: v('cached_input'), request_fee: v('request_fee'), effective_from: from ? from.toISOString() : '' });
    if ('errors' in r) {
      setErrors(r.errors);
      return;
    }
    setErrors({});
    add.mutate(r.body, { onSuccess: () => form.reset() });
  };
  const field = (name: string, label: string, props: Record<string, unknown> = {}) => <CheckedField id={`po-${name}`} name={name} label={label} error={errors[name]} props={props} />;
  return (
    <section className="card" aria-labelledby="s-prices">
      <h2 id="s-prices">Price overrides</h2>
      <p className="muted">Negotiated discounts or contract prices apply to usage from their start on; stored costs never change.</p>
      {canWrite && (
        <form className="form" onSubmit={submit} style={{ marginBottom: '0.75rem' }} aria-label="Add a price override" noValidate>
          <div className="row" style={{ alignItems: 'flex-end' }}>
            <label className="field" htmlFor="po-provider">
              Provider
              <select id="po-provider" name="provider">
                {PROVIDERS.map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.label}
                  </option>
                ))}
              </select>
            </label>
            {field('model', 'Model (* for all)', { defaultValue: '*' })}
            <label className="field" htmlFor="po-mode">
              Adjustment
              <select id="po-mode" value={mode} onChange={(e) => setMode(e.target.value as 'discount' | 'replace')}>
                <option value="discount">Discount</option>
                <option value="replace">Contract prices</option>
              </select>
            </label>
            {field('effective_from', `Starts (${tz}; empty: now)`, { type: 'datetime-local' })}
          </div>
          <div className="row" style={{ alignItems: 'flex-end' }}>
            {mode === 'discount' ? (
              field('discount', 'Discount %', { inputMode: 'decimal' })
            ) : (
              <>
                {field('input', 'Input $/1M tokens', { inputMode: 'decimal' })}
                {field('output', 'Output $/1M tokens', { inputMode: 'decimal' })}
                {field('cached_input', 'Cached input $/1M (optional)', { inputMode: 'decimal' })}
                {field('request_fee', 'Fee $/request (optional)', { inputMode: 'decimal' })}
              </>
            )}
            <button type="submit" className="primary" disabled={add.isPending}>
              Add override
            </button>
          </div>
        </form>
      )}
      <ActionError error={add.error ?? remove.error} />
      <QueryView q={q} what="price overrides" isEmpty={(d) => d.length === 0} empty={<Empty title="No overrides: list prices apply" />}>
        {(items) => (
          <SimpleTable
            caption="Price overrides"
            headers={['Provider', 'Model', 'Adjustment', 'From', 'Actions']}
            items={items}
            rowKey={(o) => o.id}
            cells={(o) => [
              o.provider,
              o.model,
              adjustment(o),
              formatTime(o.effective_from, tz, 'short'),
              canWrite && (
                <button type="button" className="small danger" onClick={() => remove.mutate(o.id)} aria-label={`Delete override ${o.provider} ${o.model}`}>
                  Delete
                </button>
              ),
            ]}
          />
        )}
      </QueryView>
    </section>
  );
}

function ModelAliases() {
  const canWrite = useCan('org', 'write', null);
  const qc = useQueryClient();
  const toast = useToast();
  const { tz } = useApp();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const q = useQuery({ queryKey: ['model-aliases'], queryFn: async ({ signal }) => (await api.get<Page<ModelAlias>>('/api/v1/model-aliases', signal)).items });
  const add = useMutation({
    mutationFn: (body: unknown) => api.post<ModelAlias>('/api/v1/model-aliases', body),
    onSuccess: (a) => {
      void qc.invalidateQueries({ queryKey: ['model-aliases'] });
      toast(`Alias ${a.alias} → ${a.target} added`);
    },
  });
  const remove = useMutation({ mutationFn: (id: string) => api.del(`/api/v1/model-aliases/${id}`), onSuccess: () => void qc.invalidateQueries({ queryKey: ['model-aliases'] }) });
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const r = aliasBody({ alias: String(f.get('alias') ?? ''), target: String(f.get('target') ?? '') });
    if ('errors' in r) {
      setErrors(r.errors);
      return;
    }
    setErrors({});
    add.mutate(r.body, { onSuccess: () => form.reset() });
  };
  const field = (name: string, label: string, placeholder: string) => <CheckedField id={`ma-${name}`} name={name} label={label} error={errors[name]} props={{ placeholder, autoComplete: 'off' }} />;
  return (
    <section className="card" aria-labelledby="s-aliases">
      <h2 id="s-aliases">Model aliases</h2>
      <p className="muted">Names your apps may send as <code>model</code>; each stands for a catalog model or an explicit provider/model. Changing one redirects traffic within seconds, without touching the apps.</p>
      {canWrite && (
        <form className="form" onSubmit={submit} style={{ marginBottom: '0.75rem' }} aria-label="Add a model alias" noValidate>
          <div className="row" style={{ alignItems: 'flex-end' }}>
            {field('alias', 'Alias', 'fast')}
            {field('target', 'Model', 'openai/gpt-4o-mini')}
            <button type="submit" className="primary" disabled={add.isPending}>
              Add alias
            </button>
          </div>
        </form>
      )}
      <ActionError error={add.error ?? remove.error} />
      <QueryView q={q} what="model aliases" isEmpty={(d) => d.length === 0} empty={<Empty title="No aliases: apps name models directly" />}>
        {(items) => (
          <SimpleTable
            caption="Model aliases"
            headers={['Alias', 'Model', 'Added', 'Actions']}
            items={items}
            rowKey={(a) => a.id}
            cells={(a) => [
              <code key="alias">{a.alias}</code>,
              a.target,
              formatTime(a.created_at, tz, 'short'),
              canWrite && (
                <button type="button" className="small danger" onClick={() => remove.mutate(a.id)} aria-label={`Delete alias ${a.alias}`}>
                  Delete
                </button>
              ),
            ]}
          />
        )}
      </QueryView>
    </section>
  );
}

export default function Settings() {
  const { me } = useApp();
  return (
    <>
      <PageHead title="Settings" sub={me ? `Signed in as ${me.email}` : undefined} />
      <div className="stack">
        <Display />
        <Totp />
        {!me?.totp_pending && (
          <>
            <OrgSettings />
            <ModelAliases />
            <PriceOverrides />
          </>
        )}
      </div>
    </>
  );
}

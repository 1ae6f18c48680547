#!/usr/bin/env node
// End-to-end test of the dashboard against the real platform:
//   keyward up (fresh database, own broker namespace, free ports) + a mock OpenAI-compatible
//   provider + this build served with the gateway's CSP, driven in Debian's Chromium.
// Every step is recorded; the run goes on after a failed step when later steps can still tell
// something, prints a summary, and exits 1 if any step failed.
//
// Environment: KEYWARD_BIN (default $CARGO_TARGET_DIR/debug/keyward, else
// /root/.cache/keyward/target/debug/keyward), CHROMIUM (default /usr/bin/chromium),
// KEYWARD_E2E_HEADED=1 to watch, KEYWARD_E2E_KEEP=1 to keep the database and logs.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { startMockProvider } from './mock-provider.mjs';
import { CHROMIUM, E2E_DIR, KEYWARD, WEB_DIR, bootstrapOwner, cleanupOnSigint, cleanups, launchChromium, platformEnv as basePlatformEnv, psql, requireFiles, runWithCleanup, signIn, sleep, startKeyward, submitSignIn, until } from './common.mjs';

const require = createRequire(import.meta.url);
const SHOTS = join(E2E_DIR, 'screenshots');
const WORK = join(E2E_DIR, '.tmp');
const EMAIL = 'owner@e2e.keyward.test';
const PASSWORD = 'e2e-Password-0123456789';
const PROVIDER_SECRET = 'sk-e2e-FAKEfakeFAKEfakeFAKEfake0123456789abcdef';

// ---- bookkeeping ----------------------------------------------------------------------------

const results = [];
const timings = {};
let currentPage = null;
/** What the page shows as errors (role=alert), to explain a failed step. */
async function pageSays() {
  if (!currentPage) return '';
  const texts = await currentPage.getByRole('alert').allInnerTexts().catch(() => []);
  const clean = texts.map((t) => t.replace(/\s+/g, ' ').trim()).filter(Boolean);
  return clean.length ? ` [page says: ${clean.slice(0, 3).join(' / ')}]` : '';
}
async function step(name, fn) {
  const started = Date.now();
  try {
    const detail = await fn();
    results.push({ name, ok: true, ms: Date.now() - started, detail: detail ?? '' });
    console.log(`  ✓ ${name}${detail ? ` — ${detail}` : ''}`);
    return true;
  } catch (e) {
    const msg = (e instanceof Error ? e.message : String(e)).split('\n').slice(0, 2).join(' | ') + (await pageSays());
    results.push({ name, ok: false, ms: Date.now() - started, detail: msg });
    console.log(`  ✗ ${name} — ${msg}`);
    return false;
  }
}

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s) of a base32 secret at time step `step`. */
function totp(secret, step) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(step));
  const h = createHmac('sha1', key).update(msg).digest();
  const o = h[h.length - 1] & 0xf;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}
const timeStep = () => Math.floor(Date.now() / 30_000);

// ---- the platform ---------------------------------------------------------------------------

const DB = `kwe2e_${Date.now().toString(36)}${process.pid}`;

/** keyward up's environment (common.mjs; the gateway serves the build) for this run. */
async function platformEnv() {
  const { env, gateway } = await basePlatformEnv({ db: DB, namespace: `e2e${Date.now().toString(36)}`, work: WORK });
  // Sign checkpoints quickly so "verify chain" covers this run's entries.
  env.KEYWARD__AUDIT__CHECKPOINT_INTERVAL_SECS = '5';
  // The webhook receiver of the alert step listens on 127.0.0.1, which both SSRF guards refuse by
  // default: the gateway's when the channel is saved, the alert service's when it sends.
  env.KEYWARD__API_GATEWAY__ALLOW_PRIVATE_WEBHOOK_TARGETS = 'true';
  env.KEYWARD__ALERT__ALLOW_PRIVATE_TARGETS = 'true';
  return { env, gateway };
}

// ---- main -----------------------------------------------------------------------------------

cleanupOnSigint();

async function main() {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  mkdirSync(SHOTS, { recursive: true });
  requireFiles([
    ['keyward binary (cargo build -p keyward)', KEYWARD],
    ['Chromium (apt-get install chromium)', CHROMIUM],
    ['the build (npm run build)', join(WEB_DIR, 'dist', 'index.html')],
  ]);

  console.log('starting the platform…');
  await psql('keyward', `CREATE DATABASE ${DB}`);
  if (!process.env.KEYWARD_E2E_KEEP) cleanups.push(() => psql('keyward', `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`));
  const mock = await startMockProvider({ apiKey: PROVIDER_SECRET });
  cleanups.push(() => mock.close());
  const { env, gateway } = await platformEnv();

  const ready = await step('platform starts (keyward up, fresh database and broker namespace)', async () => {
    await startKeyward({ env, gateway, logPath: join(WORK, 'keyward.log') });
    await bootstrapOwner({ env, org: 'E2E Org', email: EMAIL, password: PASSWORD });
    return `gateway ${gateway}, database ${DB}`;
  });
  if (!ready) return;

  const ui = { url: gateway };

  // Which documented routes this gateway has (404 "route not found" = not yet).
  const token = (await (await fetch(`${gateway}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: EMAIL, password: PASSWORD }) })).json()).access_token;
  const routeMissing = {};
  for (const path of ['/api/v1/usage/timeseries', '/api/v1/usage/breakdown', '/api/v1/budgets', '/api/v1/alerts', '/api/v1/audit', '/api/v1/events/stream', '/api/v1/pricing/overrides']) {
    const r = await fetch(`${gateway}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const body = r.headers.get('content-type')?.includes('json') ? await r.json().catch(() => ({})) : {};
    routeMissing[path] = r.status === 404 && /route not found/i.test(body?.error?.message ?? '');
    if (r.body && !r.bodyUsed) await r.body.cancel().catch(() => undefined);
  }
  const missing = Object.entries(routeMissing).filter(([, m]) => m).map(([p]) => p);
  console.log(missing.length ? `routes this gateway does not serve yet: ${missing.join(', ')}` : 'every documented route answers');

  const profile = mkdtempSync(join(tmpdir(), 'keyward-e2e-chromium-'));
  cleanups.push(() => rmSync(profile, { recursive: true, force: true }));
  const context = await launchChromium(profile, { acceptDownloads: true });
  cleanups.push(() => context.close());
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ui.url }).catch(() => undefined);
  const page = context.pages()[0] ?? (await context.newPage());
  currentPage = page;
  const cspViolations = [];
  const pageErrors = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));

  await step('first load ≤ 1 s on localhost', async () => {
    // The browser process itself is warmed up first; what is measured is the page: from
    // navigation start (the page's time origin) to the sign-in form being mounted (a performance mark).
    await page.goto(`${ui.url}/favicon.svg`);
    const t0 = Date.now();
    await page.goto(ui.url, { waitUntil: 'load' });
    await page.getByRole('heading', { name: 'Sign in' }).waitFor({ timeout: 5_000 });
    const wall = Date.now() - t0;
    const m = await page.evaluate(() => {
      const n = performance.getEntriesByType('navigation')[0];
      const mark = performance.getEntriesByName('keyward:signin-ready')[0];
      return { visible: mark ? Math.round(mark.startTime) : Math.round(performance.now()), load: n ? Math.round(n.loadEventEnd - n.startTime) : -1 };
    });
    timings.firstLoadMs = m.visible;
    const text = `sign-in form visible ${m.visible} ms after navigation start (load event ${m.load} ms, ${wall} ms as seen by the test driver)`;
    if (m.visible > 1000) throw new Error(text);
    return text;
  });

  await shootBoth(page, 'signin');
  await axeCheck(page, 'signin');

  const signedIn = await step('sign in with e-mail and password', async () => {
    await signIn(page, EMAIL, PASSWORD, 10_000);
    const stored = await page.evaluate(() => ({ session: !!sessionStorage.getItem('keyward.session'), local: Object.keys(localStorage).filter((k) => k.includes('session')) }));
    if (!stored.session || stored.local.length) throw new Error(`tokens stored wrongly: ${JSON.stringify(stored)}`);
    return 'tokens in sessionStorage only';
  });
  if (!signedIn) return;

  await step('add a provider key validated against the mock provider', async () => {
    await page.goto(`${ui.url}/#/provider-keys`);
    await page.getByRole('button', { name: 'Add provider key' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add a provider key' });
    await dialog.locator('#pk-name').fill('e2e openai');
    await dialog.locator('#pk-provider').selectOption('openai');
    await dialog.locator('#pk-api_key').fill(PROVIDER_SECRET);
    await dialog.locator('#pk-base').fill(mock.url);
    await dialog.getByRole('button', { name: 'Add key' }).click();
    const notice = page.locator('.notice[role=status]').filter({ hasText: 'e2e openai' });
    await notice.waitFor({ timeout: 15_000 });
    const note = await notice.innerText();
    if (!/valid/.test(note) || /invalid/.test(note)) throw new Error(`validation did not pass: ${note}`);
    await page.getByRole('cell', { name: 'e2e openai', exact: true }).waitFor();
    const html = await page.content();
    if (html.includes(PROVIDER_SECRET)) throw new Error('the provider secret is still in the page');
    if (mock.stats.models < 1) throw new Error('the mock provider saw no validation call');
    return `validated (${mock.stats.models} validation call), masked in the table`;
  });

  await step('edit the provider key\'s routing', async () => {
    await page.getByRole('button', { name: 'Edit e2e openai' }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit e2e openai' });
    await dialog.locator('#ed-weight').fill('0');
    await dialog.getByRole('button', { name: 'Save' }).click();
    // The browser's own range check stops 0 before anything is sent.
    if (!(await dialog.isVisible())) throw new Error('a weight of 0 was accepted');
    await dialog.locator('#ed-priority').fill('-3');
    await dialog.locator('#ed-weight').fill('250');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved e2e openai: priority -3, weight 250').waitFor({ timeout: 10_000 });
    const row = page.getByRole('row').filter({ hasText: 'e2e openai' });
    await row.getByText('-3 · 250').waitFor({ timeout: 10_000 });
    return 'priority -3, weight 250 saved and shown in the table';
  });

  let vkey = '';
  await step('create a virtual key and see it exactly once', async () => {
    await page.goto(`${ui.url}/#/virtual-keys`);
    await page.getByRole('button', { name: 'Create virtual key' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create a virtual key' });
    await dialog.locator('#vk-name').fill('e2e app');
    await dialog.locator('#vk-rpm').fill('600');
    await dialog.locator('#vk-cidrs').fill('127.0.0.0/8, ::1/128');
    await dialog.getByRole('button', { name: 'Create key' }).click();
    const shown = page.getByTestId('new-virtual-key');
    await shown.waitFor({ timeout: 10_000 });
    vkey = (await shown.innerText()).trim();
    if (!/^kw_[A-Za-z0-9]{20,}$/.test(vkey)) throw new Error(`unexpected key text ${vkey.slice(0, 6)}…`);
    await page.getByRole('button', { name: 'Copy key' }).click();
    await shootBoth(page, 'virtual-keys-created');
    await page.getByRole('button', { name: 'I have saved it' }).click();
    await page.reload();
    await page.getByRole('cell', { name: 'e2e app', exact: true }).waitFor();
    if ((await page.content()).includes(vkey)) throw new Error('the key is still on the page after dismissing it');
    return `shown once (${vkey.slice(0, 3)}…${vkey.slice(-4)}), gone after dismiss and reload`;
  });

  await step('edit a virtual key (limits)', async () => {
    await page.getByRole('button', { name: 'Edit e2e app' }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit e2e app' });
    await dialog.locator('#vk-rpm').fill('1200');
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('cell', { name: '1200 rpm' }).waitFor({ timeout: 10_000 });
    return 'rpm 600 → 1200';
  });

  const sendTraffic = async (n, stream = false) => {
    let ok = 0;
    const statuses = [];
    for (let i = 0; i < n; i++) {
      const r = await fetch(`${gateway}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${vkey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `e2e request ${i}: say hello` }], max_tokens: 32, ...(stream && i % 2 ? { stream: true, stream_options: { include_usage: true } } : {}) }),
      });
      await r.text();
      statuses.push(r.status);
      if (r.ok) ok++;
    }
    if (ok !== n) throw new Error(`${n - ok} of ${n} proxied calls failed: statuses ${[...new Set(statuses)].join(',')}`);
    return ok;
  };

  let trafficAt = 0;
  await step('send traffic through the proxy with the virtual key', async () => {
    if (!vkey) throw new Error('no virtual key (previous step failed)');
    const before = mock.stats.chat;
    await sendTraffic(6, true);
    trafficAt = Date.now();
    return `6 calls (3 streamed) answered; mock provider served ${mock.stats.chat - before}`;
  });

  await step('usage and cost appear on the chart within 5 s', async () => {
    if (!trafficAt) throw new Error('no traffic was sent');
    await page.goto(`${ui.url}/#/usage?preset=today&group_by=model`);
    await until(
      'the usage chart and a priced gpt-4o-mini row',
      async () => {
        const chart = await page.getByTestId('usage-chart').count();
        const row = page.getByRole('row').filter({ hasText: 'gpt-4o-mini' });
        if (!chart || !(await row.count())) return false;
        const text = await row.first().innerText();
        return /\$0\.0*[1-9]/.test(text) ? text : false;
      },
      Math.max(500, 5_000 - (Date.now() - trafficAt)) + 1_000,
    ).catch(async (e) => {
      const err = await page.getByRole('alert').allInnerTexts();
      throw new Error(`${e.message}${err.length ? `; page says: ${err.join(' / ')}` : ''}`);
    });
    const waited = Date.now() - trafficAt;
    if (waited > 6_000) throw new Error(`usage showed after ${waited} ms`);
    await page.getByTestId('usage-chart').locator('.u-over').click({ position: { x: 40, y: 40 } }).catch(() => undefined);
    return `visible ${waited} ms after the traffic`;
  });

  await step('usage drill-down lists the individual requests', async () => {
    await page.goto(`${ui.url}/#/usage?preset=today&group_by=model`);
    await page.getByRole('button', { name: 'Show requests' }).click();
    const table = page.getByTestId('usage-events');
    const rows = await until(
      'the 6 metered calls in /usage/events',
      async () => {
        const n = await table.locator('tbody tr').filter({ hasText: 'gpt-4o-mini' }).count();
        return n >= 6 ? n : false;
      },
      10_000,
    ).catch(async (e) => {
      const seen = (await page.locator('main').innerText().catch(() => '')).replace(/\s+/g, ' ').slice(0, 600);
      throw new Error(`${e.message}; the page showed: ${seen}`);
    });
    const first = await table.locator('tbody tr').first().innerText();
    if (!/\bok\b/.test(first) || !/\$0\.0*[1-9]/.test(first)) throw new Error(`unexpected request row: ${first.replace(/\s+/g, ' ')}`);
    await shootBoth(page, 'usage-requests');
    return `${rows} request rows, priced`;
  });

  await step('set a budget and watch it fill', async () => {
    await page.goto(`${ui.url}/#/budgets`);
    await page.getByRole('button', { name: 'Create budget' }).first().click();
    const dialog = page.getByRole('dialog', { name: 'Create a budget' });
    await dialog.locator('#b-name').fill('e2e monthly');
    await dialog.locator('#b-amount').fill('0.001');
    await dialog.getByRole('checkbox', { name: /Hard limit/ }).uncheck();
    await dialog.getByRole('button', { name: 'Create budget' }).click();
    const row = page.getByTestId('budget-e2e monthly');
    await row.waitFor({ timeout: 10_000 });
    const pct = async () => Number((await row.getByTestId('budget-percent').innerText()).match(/([\d.]+)%/)?.[1] ?? 'NaN');
    const start = await until('the budget to count existing spend', async () => ((await pct()) > 0 ? pct() : false), 10_000);
    await sendTraffic(6);
    const end = await until('the budget to fill further', async () => ((await pct()) > start ? pct() : false), 10_000);
    return `${start}% → ${end}% after 6 more calls`;
  });

  await step('audit shows the actions and the chain verifies', async () => {
    await page.goto(`${ui.url}/#/audit`);
    await until(
      'provider key and virtual key entries',
      async () => {
        const text = await page.locator('table').first().innerText().catch(() => '');
        return /provider_key\./.test(text) && /virtual_key\./.test(text) ? text : false;
      },
      20_000,
      1_000,
    ).catch(async (e) => {
      const err = await page.getByRole('alert').allInnerTexts();
      throw new Error(`${e.message}${err.length ? `; page says: ${err.join(' / ')}` : ''}`);
    });
    await page.getByRole('row', { name: /virtual_key\./ }).first().click();
    await page.getByRole('heading', { name: 'After' }).waitFor();
    await shootBoth(page, 'audit-entry');
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Verify chain' }).click();
    const result = page.getByTestId('verify-result');
    await result.waitFor({ timeout: 20_000 });
    const text = await result.innerText();
    if (!/Chain verified/.test(text)) throw new Error(text);
    return text.replace(/\s+/g, ' ');
  });

  await step('audit export follows the filters (CSV)', async () => {
    await page.goto(`${ui.url}/#/audit?action=virtual_key.create`);
    const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 15_000 }), page.getByRole('button', { name: 'Export CSV' }).click()]);
    const path = join(WORK, 'audit.csv');
    await dl.saveAs(path);
    const csv = readFileSync(path, 'utf8');
    const lines = csv.trim().split(/\r?\n/);
    if (lines.length < 2) throw new Error('empty export');
    if (lines.slice(1).some((l) => !l.includes('virtual_key.create'))) throw new Error('export includes rows outside the filter');
    return `${lines.length - 1} row(s)`;
  });

  await step('live events stream (SSE) connects', async () => {
    if (routeMissing['/api/v1/events/stream']) throw new Error('GET /api/v1/events/stream is not served by this gateway yet (the dashboard falls back to polling)');
    await page.goto(`${ui.url}/#/`);
    await page.getByText('Live', { exact: true }).waitFor({ timeout: 10_000 });
    return 'connected';
  });

  await step('define a model alias in Settings and call the proxy with it', async () => {
    if (!vkey) throw new Error('no virtual key (previous step failed)');
    await page.goto(`${ui.url}/#/settings`);
    const form = page.getByRole('form', { name: 'Add a model alias' });
    await form.waitFor({ timeout: 10_000 });
    await form.locator('#ma-alias').fill('openai/fast');
    await form.getByRole('button', { name: 'Add alias' }).click();
    await form.getByText('1–100 letters').waitFor({ timeout: 5_000 });
    await form.locator('#ma-alias').fill('fast');
    await form.locator('#ma-target').fill('openai/gpt-4o-mini');
    await form.getByRole('button', { name: 'Add alias' }).click();
    await page.getByRole('button', { name: 'Delete alias fast' }).waitFor({ timeout: 10_000 });
    // The gateway drops its cached aliases on `model_alias.changed`: the alias works at once.
    const deadline = Date.now() + 5_000;
    let status = 0;
    let model = '';
    while (Date.now() < deadline) {
      const r = await fetch(`${gateway}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${vkey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: 'alias check' }], max_tokens: 8 }),
      });
      status = r.status;
      const body = await r.json().catch(() => ({}));
      if (r.ok) {
        model = body.model ?? '';
        break;
      }
      await sleep(200);
    }
    if (status !== 200) throw new Error(`the proxy answered ${status} for model "fast"`);
    return `the form refused "openai/fast"; alias fast → openai/gpt-4o-mini saved and answered by the proxy (model ${model})`;
  });

  await step('alerts: add a webhook channel, a test send reaches the receiver signed, create and edit a rule', async () => {
    // A local webhook receiver: records each request's headers and body.
    const received = [];
    const receiver = createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok');
      });
    });
    await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => receiver.close());
    const hook = `http://127.0.0.1:${receiver.address().port}/keyward-hook`;

    await page.goto(`${ui.url}/#/alerts?tab=channels`);
    await page.getByRole('button', { name: 'Add channel' }).first().click();
    const dialog = page.getByRole('dialog');
    await dialog.locator('#c-name').fill('e2e hook');
    await dialog.locator('#c-url').fill(hook);
    await dialog.getByRole('button', { name: 'Add channel' }).click();
    const secret = (await page.getByTestId('signing-secret').textContent({ timeout: 10_000 })).trim();
    if (secret.length < 16) throw new Error(`the generated signing secret is too short: ${secret.length} characters`);
    await page.getByRole('button', { name: 'I have saved it' }).click();
    // The list shows a hint of the URL, never the URL itself.
    const rows = await page.locator('table').first().innerText();
    if (rows.includes(hook)) throw new Error('the channel list shows the webhook URL');

    await page.getByRole('button', { name: 'Test send to e2e hook' }).click();
    const result = await page.getByTestId('test-result').innerText({ timeout: 15_000 });
    if (!/was delivered/.test(result)) throw new Error(`test send: ${result}`);
    const got = received.at(-1);
    if (!got) throw new Error('the receiver got nothing');
    const sig = String(got.headers['x-keyward-signature'] ?? '');
    const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(sig);
    if (!m) throw new Error(`no valid X-Keyward-Signature header: "${sig}"`);
    const expected = createHmac('sha256', secret).update(`${m[1]}.`).update(got.body).digest();
    if (!timingSafeEqual(expected, Buffer.from(m[2], 'hex'))) throw new Error('the signature does not verify with the secret shown once');

    await page.goto(`${ui.url}/#/alerts?tab=rules`);
    await page.getByRole('button', { name: 'New rule' }).click();
    const create = page.getByRole('form', { name: 'New alert rule' });
    await create.locator('#r-name').fill('e2e spend');
    await create.locator('#r-type').selectOption('spend_spike');
    await create.getByRole('checkbox', { name: /e2e hook/ }).first().check();
    await create.getByRole('button', { name: 'Create rule' }).click();
    await page.getByRole('button', { name: 'Edit rule e2e spend' }).click();
    const edit = page.getByRole('form', { name: 'Edit rule e2e spend' });
    await edit.locator('#r-sev').selectOption('critical');
    await edit.locator('#r-esc').fill('abc');
    await edit.getByRole('button', { name: 'Save rule' }).click();
    await edit.locator('#r-escalate_after_minutes-err').waitFor({ timeout: 5_000 });
    await edit.locator('#r-esc').fill('');
    await edit.getByRole('button', { name: 'Save rule' }).click();
    await edit.waitFor({ state: 'detached', timeout: 10_000 });
    const rules = (await (await fetch(`${gateway}/api/v1/alerts/rules`, { headers: { authorization: `Bearer ${token}` } })).json()).items ?? [];
    const rule = rules.find((r) => r.name === 'e2e spend');
    if (!rule) throw new Error('the rule is not listed by the API');
    if (rule.rule_type !== 'spend_spike' || rule.severity !== 'critical') throw new Error(`rule saved as ${rule.rule_type}/${rule.severity}, not spend_spike/critical`);
    const channels = (await (await fetch(`${gateway}/api/v1/alerts/channels`, { headers: { authorization: `Bearer ${token}` } })).json()).items ?? [];
    const channel = channels.find((c) => c.name === 'e2e hook');
    if (!channel || !rule.channel_ids.includes(channel.id)) throw new Error('the rule does not notify the e2e hook channel');
    return `test send delivered with a verifying signature (${got.body.length} bytes); rule e2e spend created, a bad escalation refused, severity edited to critical`;
  });

  await step('price override: a discount added in Settings is listed and stored', async () => {
    await page.goto(`${ui.url}/#/settings`);
    const form = page.getByRole('form', { name: 'Add a price override' });
    await form.waitFor({ timeout: 10_000 });
    await form.locator('#po-provider').selectOption('openai');
    await form.locator('#po-model').fill('gpt-4o-mini');
    await form.locator('#po-discount').fill('150');
    await form.getByRole('button', { name: 'Add override' }).click();
    await form.locator('#po-discount[aria-invalid=true]').waitFor({ timeout: 5_000 });
    await form.locator('#po-discount').fill('12.5');
    await form.getByRole('button', { name: 'Add override' }).click();
    await page.getByRole('button', { name: 'Delete override openai gpt-4o-mini' }).waitFor({ timeout: 10_000 });
    const items = (await (await fetch(`${gateway}/api/v1/pricing/overrides`, { headers: { authorization: `Bearer ${token}` } })).json()).items ?? [];
    const o = items.find((x) => x.provider === 'openai' && x.model === 'gpt-4o-mini');
    if (!o) throw new Error('the override is not listed by the API');
    return `a 150% discount refused; 12.5% on openai/gpt-4o-mini stored (${JSON.stringify(o).slice(0, 160)})`;
  });

  // Every page, light and dark: screenshots and accessibility.
  const pages = [
    ['overview', '/'],
    ['provider-keys', '/provider-keys'],
    ['virtual-keys', '/virtual-keys'],
    ['usage', '/usage?preset=today&group_by=model,virtual_key'],
    ['budgets', '/budgets'],
    ['alerts', '/alerts'],
    ['alert-channels', '/alerts?tab=channels'],
    ['alert-rules', '/alerts?tab=rules'],
    ['alert-deliveries', '/alerts?tab=deliveries'],
    ['team', '/team'],
    ['audit', '/audit'],
    ['settings', '/settings'],
  ];
  for (const [name, path] of pages) {
    await page.goto(`${ui.url}/#${path}`);
    await page.locator('main h1').first().waitFor({ timeout: 10_000 }).catch(() => undefined);
    await page.waitForFunction(() => !document.querySelector('[role=status] .skeleton'), undefined, { timeout: 8_000 }).catch(() => undefined);
    await sleep(400);
    await shootBoth(page, name);
    await axeCheck(page, name);
  }

  await step('responsive: phone-width layout has a menu button and no horizontal overflow', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    let overflow = 0;
    try {
      await page.goto(`${ui.url}/#/virtual-keys`);
      await page.getByRole('button', { name: /Menu/ }).waitFor();
      await shootBoth(page, 'mobile-virtual-keys');
      overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      await page.getByRole('button', { name: /Menu/ }).click();
      await page.getByRole('link', { name: 'Budgets' }).click();
      await page.getByRole('heading', { name: 'Budgets', exact: true }).waitFor();
    } finally {
      await page.setViewportSize({ width: 1366, height: 900 });
    }
    if (overflow > 0) throw new Error(`page is ${overflow}px wider than the screen`);
    return 'menu opens, navigation works, no overflow';
  });

  await step('keyboard: skip link and navigation reachable by Tab', async () => {
    await page.goto(`${ui.url}/#/`);
    await page.reload();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.keyboard.press('Tab');
    const first = await page.evaluate(() => document.activeElement?.textContent?.trim());
    if (first !== 'Skip to content') throw new Error(`first Tab focuses ${first}`);
    await page.keyboard.press('Tab');
    const second = await page.evaluate(() => document.activeElement?.textContent?.trim());
    if (second !== 'Overview') throw new Error(`second Tab focuses ${second}`);
    return 'skip link, then the page navigation';
  });

  await step('no CSP violations and no uncaught errors', async () => {
    if (cspViolations.length) throw new Error(`CSP: ${cspViolations.slice(0, 3).join(' / ')}`);
    if (pageErrors.length) throw new Error(`page errors: ${pageErrors.slice(0, 3).join(' / ')}`);
    return 'none';
  });

  await step('sign out ends the session', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor({ timeout: 5_000 });
    const left = await page.evaluate(() => sessionStorage.getItem('keyward.session'));
    if (left) throw new Error('session still stored');
    return 'back at sign-in, storage cleared';
  });

  await step('sign in asks for the TOTP code once the account has one', async () => {
    // Enrol the owner through the API (an authenticator app would hold the secret).
    const login = await (await fetch(`${gateway}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: EMAIL, password: PASSWORD }) })).json();
    const auth = { authorization: `Bearer ${login.access_token}`, 'content-type': 'application/json' };
    const enrol = await (await fetch(`${gateway}/api/v1/me/totp/enroll`, { method: 'POST', headers: auth, body: '{}' })).json();
    if (!enrol.secret) throw new Error(`enrolment failed: ${JSON.stringify(enrol)}`);
    const used = timeStep();
    const confirmed = await fetch(`${gateway}/api/v1/me/totp/confirm`, { method: 'POST', headers: auth, body: JSON.stringify({ code: totp(enrol.secret, used) }) });
    if (confirmed.status !== 204) throw new Error(`confirm answered ${confirmed.status}`);
    await submitSignIn(page, EMAIL, PASSWORD);
    await page.getByRole('heading', { name: 'Two-factor code' }).waitFor({ timeout: 10_000 });
    await shootBoth(page, 'signin-totp');
    await axeCheck(page, 'signin-totp');
    // Each code is accepted once: wait for the next 30-second step.
    await until('the next TOTP time step', () => timeStep() > used, 31_000, 200);
    await page.getByLabel(/Code from your authenticator/).fill(totp(enrol.secret, timeStep()));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor({ timeout: 10_000 });
    const me = await page.evaluate(async () => {
      const t = JSON.parse(sessionStorage.getItem('keyward.session') ?? '{}');
      return (await fetch('/api/v1/me', { headers: { authorization: `Bearer ${t.access_token}` } })).json();
    });
    if (!me.mfa) throw new Error('signed in, but /me says the sign-in used no code');
    return 'password, then code; /me reports mfa';
  });
}

const shots = [];
async function shootBoth(page, name) {
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    await sleep(150);
    const file = join(SHOTS, `${name}-${scheme}.png`);
    await page.screenshot({ path: file, fullPage: true });
    shots.push(file);
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
async function axeCheck(page, name) {
  for (const scheme of ['light', 'dark']) {
    await step(`accessibility (axe) ${name} ${scheme}: no serious or critical violations`, async () => {
      await page.emulateMedia({ colorScheme: scheme });
      await sleep(100);
      if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.evaluate(axeSource);
      const found = await page.evaluate(async () => {
        const r = await window.axe.run(document, { resultTypes: ['violations'] });
        return r.violations.map((v) => ({ id: v.id, impact: v.impact, n: v.nodes.length, target: v.nodes[0]?.target?.join(' ') }));
      });
      const bad = found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
      if (bad.length) throw new Error(bad.map((v) => `${v.id} (${v.impact}, ${v.n}× e.g. ${v.target})`).join('; '));
      const minor = found.filter((v) => !bad.includes(v));
      return minor.length ? `minor: ${minor.map((v) => v.id).join(', ')}` : '';
    });
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

const fatal = await runWithCleanup(main);
console.log('\n── e2e summary ──');
for (const r of results) console.log(`${r.ok ? 'PASS' : 'FAIL'}  ${r.name}${r.detail ? `  (${r.detail})` : ''}`);
if (fatal) console.log(`FATAL ${fatal instanceof Error ? fatal.message : String(fatal)}`);
console.log(`\nscreenshots (${shots.length}):`);
for (const s of shots) console.log(`  ${s}`);
if (timings.firstLoadMs !== undefined) console.log(`first load: ${timings.firstLoadMs} ms`);
const failed = results.filter((r) => !r.ok).length;
console.log(`\n${results.length - failed} passed, ${failed} failed${fatal ? ', aborted' : ''}; platform log: ${join(WORK, 'keyward.log')}`);
writeFileSync(join(WORK, 'summary.json'), JSON.stringify({ results, shots, timings }, null, 2));
process.exit(failed || fatal ? 1 : 0);

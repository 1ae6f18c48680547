// Shared by the dashboard's browser scripts that run against the real platform:
//   web/e2e/run.mjs          the end-to-end test (`bash scripts/web.sh e2e`, `make test`)
//   web/e2e/bench-usage.mjs  the Usage page benchmark (`bash bench/web.sh`)
// Both start `keyward -c config/dev.toml up` on a fresh database with free ports and their own
// broker namespace, bootstrap an owner, and drive Debian's Chromium through playwright-core.
// What lives here: paths and binaries, polling helpers, the admin role's psql, the cleanup list,
// starting and stopping the platform, launching Chromium and signing in.
//
// Environment: KEYWARD_BIN (default $CARGO_TARGET_DIR/debug/keyward, else
// /root/.cache/keyward/target/debug/keyward), CHROMIUM (default /usr/bin/chromium),
// KEYWARD_E2E_HEADED=1 to watch the browser, KEYWARD__DATABASE__ADMIN_USER and
// KEYWARD__DATABASE__ADMIN_PASSWORD over config/dev.toml's [database] admin role.
import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

// ---- paths and binaries ---------------------------------------------------------------------

/** This folder, web/e2e. */
export const E2E_DIR = dirname(fileURLToPath(import.meta.url));
/** The dashboard, web/ (its build is in web/dist). */
export const WEB_DIR = resolve(E2E_DIR, '..');
/** The repository's root. */
export const REPO_DIR = resolve(WEB_DIR, '..');
/** config/dev.toml, the configuration `keyward -c … up` runs with (overridden by KEYWARD__… variables). */
export const DEV_CONFIG = join(REPO_DIR, 'config', 'dev.toml');
const targetDir = process.env.CARGO_TARGET_DIR ?? '/root/.cache/keyward/target';
/** The keyward binary: KEYWARD_BIN, else the debug build in CARGO_TARGET_DIR (or the Makefile's target directory). */
export const KEYWARD = process.env.KEYWARD_BIN ?? join(targetDir, 'debug', 'keyward');
/** The Chromium executable: CHROMIUM, else Debian's /usr/bin/chromium. */
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/**
 * Throws `missing <what>: <path>` for the first of `needed` that does not exist.
 * @param {Array<[string, string]>} needed pairs of (what it is and how to get it, path)
 */
export function requireFiles(needed) {
  for (const [what, path] of needed) {
    if (!existsSync(path)) throw new Error(`missing ${what}: ${path}`);
  }
}

// ---- waiting --------------------------------------------------------------------------------

/**
 * Resolves after `ms` milliseconds.
 * @param {number} ms
 * @returns {Promise<void>}
 */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Calls `fn` every `everyMs` until it returns (or resolves to) a truthy value, and resolves to
 * that value. A throw or rejection counts as "not yet"; after `timeoutMs` it rejects with
 * `timed out after … waiting for <what>`, followed by the last error `fn` raised, if any.
 * @template T
 * @param {string} what what is awaited, for the error message
 * @param {() => T | Promise<T>} fn
 * @param {number} timeoutMs
 * @param {number} [everyMs=250]
 * @returns {Promise<T>}
 */
export async function until(what, fn, timeoutMs, everyMs = 250) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message ?? last}` : ''}`);
    await sleep(everyMs);
  }
}

/**
 * A free TCP port on 127.0.0.1, never the same twice in this process. Ports come from
 * 20000–31999, below Linux's ephemeral range (32768–60999): a port found free there is not taken,
 * before keyward binds it, as the local port of an outgoing connection or of a listener on port 0
 * (the mock provider's). Asking the kernel for port 0 could hand out one port twice, and keyward
 * refuses a configuration where two services share a port.
 * @returns {Promise<number>}
 */
export async function freePort() {
  for (let i = 0; i < PORT_SPAN; i++) {
    const port = PORT_BASE + ((portStart + portNext++) % PORT_SPAN);
    if (await canBind(port)) return port;
  }
  throw new Error(`no free port in 127.0.0.1:${PORT_BASE}–${PORT_BASE + PORT_SPAN - 1}`);
}
const PORT_BASE = 20_000;
const PORT_SPAN = 12_000;
const portStart = Math.floor(Math.random() * PORT_SPAN);
let portNext = 0;

/** Whether 127.0.0.1:`port` can be listened on now. */
function canBind(port) {
  return new Promise((res) => {
    const s = createServer();
    s.unref();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

// ---- the database ---------------------------------------------------------------------------

const devToml = readFileSync(DEV_CONFIG, 'utf8');
/** A quoted string value `key = "…"` of `[section]` in config/dev.toml, or undefined. */
const tomlValue = (section, key) => {
  const sec = devToml.split(/^\[/m).find((s) => s.startsWith(`${section}]`)) ?? '';
  return new RegExp(`^${key}\\s*=\\s*"([^"]*)"`, 'm').exec(sec)?.[1];
};
/**
 * The admin role (a superuser, created by scripts/setup.sh): KEYWARD__DATABASE__ADMIN_USER, else
 * config/dev.toml's [database] admin_user, else keyward_admin.
 */
export const ADMIN_USER = process.env.KEYWARD__DATABASE__ADMIN_USER ?? tomlValue('database', 'admin_user') ?? 'keyward_admin';
/** Its password: KEYWARD__DATABASE__ADMIN_PASSWORD, else config/dev.toml's admin_password, else empty. */
export const ADMIN_PASSWORD = process.env.KEYWARD__DATABASE__ADMIN_PASSWORD ?? tomlValue('database', 'admin_password') ?? '';

/**
 * Runs `sql` (read from stdin, so several statements, VACUUM and psql variables work) as the
 * admin role on database `db` at 127.0.0.1; `vars` become psql variables (`:'name'`, `:name`).
 * Resolves to the unaligned, tuples-only output; rejects with psql's first lines of stderr.
 * Asynchronous, so the event loop keeps running meanwhile.
 * @param {string} db
 * @param {string} sql
 * @param {Record<string, string | number>} [vars]
 * @returns {Promise<string>}
 */
export function psql(db, sql, vars = {}) {
  const args = ['-X', '-q', '-A', '-t', '-h', '127.0.0.1', '-U', ADMIN_USER, '-d', db, '-v', 'ON_ERROR_STOP=1'];
  for (const [k, v] of Object.entries(vars)) args.push('-v', `${k}=${v}`);
  args.push('-f', '-');
  return new Promise((res, rej) => {
    const p = spawn('psql', args, { env: { ...process.env, PGPASSWORD: ADMIN_PASSWORD }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', rej);
    p.on('close', (code) => (code === 0 ? res(out.trim()) : rej(new Error(`psql exited ${code}: ${err.trim().split('\n').slice(0, 3).join(' | ')}`))));
    p.stdin.end(sql);
  });
}

// ---- cleanup --------------------------------------------------------------------------------

/**
 * What to undo at the end (stop keyward, drop the database, close the browser, …): push
 * functions (sync or async); `cleanup()` runs them last-pushed first.
 * @type {Array<() => unknown>}
 */
export const cleanups = [];

/** Runs every cleanup in `cleanups`, newest first, going on after one fails; then empties the list. */
export async function cleanup() {
  for (const c of cleanups.reverse()) {
    try {
      await c();
    } catch {
      // keep cleaning
    }
  }
  cleanups.length = 0;
}

/** Makes Ctrl-C (SIGINT) run `cleanup()` and exit with status 130. */
export function cleanupOnSigint() {
  process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
}

/**
 * Awaits `main()`, then `cleanup()` whatever happened; resolves to what `main` threw, or null.
 * @param {() => Promise<unknown>} main
 * @returns {Promise<unknown>}
 */
export async function runWithCleanup(main) {
  try {
    await main();
    return null;
  } catch (e) {
    return e;
  } finally {
    await cleanup();
  }
}

// ---- the platform ---------------------------------------------------------------------------

/**
 * The environment for `keyward up` on database `db` (at 127.0.0.1:5432): the gateway and every
 * service's HTTP and gRPC on free ports, broker namespace `namespace`, the outbox spool in
 * `<work>/spool`, JSON logs, and the gateway serving web/dist (with its own caching and security
 * headers). KEYWARD_CONFIG is dropped so that `-c config/dev.toml` applies.
 * @param {{ db: string, namespace: string, work: string }} options
 * @returns {Promise<{ env: NodeJS.ProcessEnv, gateway: string }>} the environment and the gateway's URL
 */
export async function platformEnv({ db, namespace, work }) {
  const env = {
    ...process.env,
    KEYWARD__DATABASE__URL: `postgres://127.0.0.1:5432/${db}`,
    KEYWARD__BROKER__NAMESPACE: namespace,
    KEYWARD__BROKER__SPOOL_DIR: join(work, 'spool'),
    KEYWARD__TELEMETRY__FORMAT: 'json',
    KEYWARD__API_GATEWAY__WEB_DIR: join(WEB_DIR, 'dist'),
  };
  delete env.KEYWARD_CONFIG;
  const gw = await freePort();
  env.KEYWARD__API_GATEWAY__HTTP = `127.0.0.1:${gw}`;
  for (const svc of ['VAULT', 'USAGE_INGEST', 'COST', 'ALERT', 'AUDIT']) {
    const http = await freePort();
    const grpc = await freePort();
    env[`KEYWARD__${svc}__HTTP`] = `127.0.0.1:${http}`;
    env[`KEYWARD__${svc}__GRPC`] = `127.0.0.1:${grpc}`;
    env[`KEYWARD__${svc}__GRPC_URL`] = `http://127.0.0.1:${grpc}`;
  }
  return { env, gateway: `http://127.0.0.1:${gw}` };
}

/**
 * Starts `keyward -c config/dev.toml up` with `env`, its output going straight to `logPath` (a
 * file, not a pipe a busy event loop could leave full), and pushes its stop onto `cleanups`
 * (SIGTERM, SIGKILL after 15 s). Resolves once `<gateway>/readyz` answers 200 (3 minutes at
 * most); rejects saying so when keyward exits first.
 * @param {{ env: NodeJS.ProcessEnv, gateway: string, logPath: string }} options
 * @returns {Promise<void>}
 */
export async function startKeyward({ env, gateway, logPath }) {
  const logFd = openSync(logPath, 'w');
  const kw = spawn(KEYWARD, ['-c', DEV_CONFIG, 'up'], { env, stdio: ['ignore', logFd, logFd] });
  let exited = null;
  kw.on('exit', (code, sig) => (exited = `${code ?? sig}`));
  cleanups.push(async () => {
    if (exited === null) {
      kw.kill('SIGTERM');
      await until('keyward to stop', () => exited !== null, 15_000).catch(() => kw.kill('SIGKILL'));
    }
  });
  await until(
    'gateway /readyz',
    async () => {
      if (exited !== null) throw new Error(`keyward exited (${exited}); see ${logPath}`);
      return (await fetch(`${gateway}/readyz`)).status === 200;
    },
    180_000,
    500,
  ).catch((e) => {
    const why = exited !== null ? `keyward exited (${exited}); see ${logPath}` : e.message;
    throw new Error(`${why}\n--- last lines of ${logPath} ---\n${tail(logPath, 30)}`);
  });
}

/** The last `n` lines of the file at `path` (or why it could not be read). */
function tail(path, n) {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch (e) {
    return `(${e.message})`;
  }
}

/**
 * `keyward -c config/dev.toml admin bootstrap`: creates organisation `org` and its owner
 * `email` with `password`. Rejects with the command's stderr when it fails.
 * @param {{ env: NodeJS.ProcessEnv, org: string, email: string, password: string }} options
 * @returns {Promise<void>}
 */
export function bootstrapOwner({ env, org, email, password }) {
  return new Promise((res, rej) => {
    const p = spawn(KEYWARD, ['-c', DEV_CONFIG, 'admin', 'bootstrap', '--org', org, '--email', email], {
      env: { ...env, KEYWARD_BOOTSTRAP_PASSWORD: password },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('error', rej);
    p.on('close', (code) => (code === 0 ? res() : rej(new Error(`keyward admin bootstrap exited ${code}: ${err.trim()}`))));
  });
}

// ---- the browser ----------------------------------------------------------------------------

/**
 * Launches Chromium (CHROMIUM) with its profile in `profile`: headless unless
 * KEYWARD_E2E_HEADED is set, no sandbox, GPU, QUIC or background traffic, a 1366×900 viewport.
 * `options` are added to (and override) Playwright's launchPersistentContext options.
 * @param {string} profile a folder for the browser profile
 * @param {object} [options]
 * @returns {Promise<import('playwright-core').BrowserContext>}
 */
export function launchChromium(profile, options = {}) {
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: !process.env.KEYWARD_E2E_HEADED,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    viewport: { width: 1366, height: 900 },
    ...options,
  });
}

/**
 * Fills the dashboard's sign-in form (on the page already) with `email` and `password` and
 * submits it; what comes next (Overview, or the two-factor step) is the caller's to wait for.
 * @param {import('playwright-core').Page} page
 * @param {string} email
 * @param {string} password
 */
export async function submitSignIn(page, email, password) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/**
 * Signs in through the form (`submitSignIn`) and waits up to `timeoutMs` for the Overview page.
 * @param {import('playwright-core').Page} page
 * @param {string} email
 * @param {string} password
 * @param {number} [timeoutMs=10000]
 */
export async function signIn(page, email, password, timeoutMs = 10_000) {
  await submitSignIn(page, email, password);
  await page.getByRole('heading', { name: 'Overview' }).waitFor({ timeout: timeoutMs });
}

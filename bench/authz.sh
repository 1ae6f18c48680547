#!/usr/bin/env bash
# API gateway: the cost of authorizing one request (read lock + Casbin), vs a HashMap lookup.
# Knob: KW_BENCH_ITERATIONS (default 20000 per size).
set -euo pipefail
cd "$(dirname "$0")/.."
unset DATABASE_URL
cargo bench -p keyward-api-gateway --bench authz

#!/usr/bin/env bash
# Audit service bench: chained appends per second against the local Postgres, next to a plain
# multi-row INSERT baseline measured in the same run. Results: bench/RESULTS.md, "## Audit".
#   bash bench/audit.sh                      # 200k events, batches of 500, 10 orgs
#   AUDIT_BENCH_EVENTS=500000 bash bench/audit.sh
set -euo pipefail
cd "$(dirname "$0")/.."
unset DATABASE_URL
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/keyward/target}
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(psql --version 2>/dev/null | head -1)"
cargo bench -p keyward-audit --bench append

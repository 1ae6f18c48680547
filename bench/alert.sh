#!/usr/bin/env bash
# Alert: domain event published → signed webhook received, p50/p95/p99, against a direct signed
# POST to the same receiver. BENCH_N sets the number of events (default 500).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -p keyward-alert --bench delivery

#!/usr/bin/env bash
# Usage ingest and cost: end-to-end ingest rate (publisher → RabbitMQ → usage-ingest → committed)
# with a one-event-per-transaction baseline, p99 lag event → queryable, storage bytes per event,
# p95 of a 30-day breakdown over 10M events; then the exactly-once check at 1,000,000 events
# (kill -9 of the consumer process mid-stream). Record the output in bench/RESULTS.md.
#   KW_BENCH_EVENTS=200000 KW_BENCH_BREAKDOWN_EVENTS=10000000 KW_EXACTLY_ONCE_EVENTS=1000000
set -euo pipefail
cd "$(dirname "$0")/.."
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr), $(psql --version | head -1)"
cargo bench -p keyward-usage-ingest --bench ingest
KW_EXACTLY_ONCE_EVENTS="${KW_EXACTLY_ONCE_EVENTS:-1000000}" \
  cargo test -p keyward-usage-ingest --test it -- --exact --nocapture \
  exactly_once::exactly_once_across_kill_9

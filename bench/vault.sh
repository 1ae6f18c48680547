#!/usr/bin/env bash
# Vault: Resolve latency over gRPC (uncached, audited) and the cost of opening one secret.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -p keyward-vault --bench resolve

#!/usr/bin/env bash
# Runs every benchmark (bench/*.sh) against the local PostgreSQL and RabbitMQ and prints results.
# Record the numbers in bench/RESULTS.md with the command and the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr)"
for script in bench/*.sh; do
  [ "$(basename "$script")" = run.sh ] && continue
  echo
  echo "=== $script"
  bash "$script"
done

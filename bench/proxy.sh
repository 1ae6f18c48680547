#!/usr/bin/env bash
# LLM proxy: oha (c=32, 15 s) straight at a minimal OpenAI-compatible mock, then through the
# gateway (release build; virtual-key auth, RPM/TPM limits, a hard budget from the real cost
# service, vault-resolved provider key, usage events published with confirms to RabbitMQ).
# Between the two, the stack's floor: a bare forwarder with the gateway's HTTP server and upstream
# client and none of Keyward's work (`proxy bare`), so the figures split into what any
# actix-web + hyper hop costs on this machine and what Keyward adds on top of it.
# The gateway process's RSS: when ready, with 1,000 open connections at a steady 1,000 req/s
# (first, on the fresh gateway), after the runs, and with 1,000 connections flat out (last).
# Knobs: KW_BENCH_SECS (15), KW_BENCH_CONC (32), KW_BENCH_ROUNDS (5 rounds of direct, bare, then
# through Keyward), KW_BENCH_RATE (5000: one more pair of runs at this fixed rate; 0 skips it),
# KW_BENCH_MOCK_PORT (18080), KW_BENCH_WORKERS (HTTP workers of the gateway and of the bare
# forwarder; default one per core),
# KW_BENCH_GATEWAY_WRAPPER (runs the gateway process under a profiler, e.g.
# "heaptrack -o /tmp/gw" or "perf record -g --"), KW_BENCH_LOG=1 (the gateway logs as in
# production: JSON lines at `info`, one access-log line per request, to a file; off by default).
set -euo pipefail
cd "$(dirname "$0")/.."
unset DATABASE_URL
secs="${KW_BENCH_SECS:-15}"
conc="${KW_BENCH_CONC:-32}"
mport="${KW_BENCH_MOCK_PORT:-18080}"
command -v oha >/dev/null || cargo install oha --locked
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr); oha $(oha --version | awk '{print $2}')"
echo "note: oha, the mock, the gateway, the vault and cost (one process), RabbitMQ and PostgreSQL share these cores"

bin=$(cargo bench -p keyward-api-gateway --bench proxy --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m.get("executable") and m["target"]["name"]=="proxy": print(m["executable"])' | tail -1)
[ -x "$bin" ] || { echo "bench binary not built"; exit 1; }

work=$(mktemp -d)
cleanup() {
  [ -n "${gpid:-}" ] && kill -INT "$gpid" 2>/dev/null && wait "$gpid" 2>/dev/null || true
  [ -n "${bpid:-}" ] && kill "$bpid" 2>/dev/null && wait "$bpid" 2>/dev/null || true
  [ -n "${mpid:-}" ] && kill "$mpid" 2>/dev/null && wait "$mpid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$bin" mock "$mport" >"$work/mock.log" 2>&1 &
mpid=$!
# A mock left over from an earlier run on the same port would be measured instead of this one.
sleep 0.5
kill -0 "$mpid" 2>/dev/null || { echo "the mock did not start on port $mport:"; cat "$work/mock.log"; exit 1; }
[ -n "${KW_BENCH_LOG:-}" ] && export KW_BENCH_LOG="$work/gateway.log" && echo "gateway logs: JSON lines at info (KW_BENCH_LOG)"
"$bin" gateway "http://127.0.0.1:$mport" >"$work/gw.out" 2>"$work/gw.err" &
gpid=$!
for _ in $(seq 1 600); do grep -q READY "$work/gw.out" 2>/dev/null && break; sleep 0.2; done
grep -q READY "$work/gw.out" || { echo "gateway did not start"; tail -20 "$work/gw.err"; exit 1; }
url=$(sed -n 's/^URL=//p' "$work/gw.out")
"$bin" bare "http://127.0.0.1:$mport" >"$work/bare.out" 2>&1 &
bpid=$!
for _ in $(seq 1 100); do grep -q READY "$work/bare.out" 2>/dev/null && break; sleep 0.1; done
grep -q READY "$work/bare.out" || { echo "the bare forwarder did not start:"; cat "$work/bare.out"; exit 1; }
bare_url=$(sed -n 's/^URL=//p' "$work/bare.out")
key=$(sed -n 's/^KEY=//p' "$work/gw.out")
body='{"model":"gpt-4o-mini","max_tokens":16,"messages":[{"role":"user","content":"Say hello."}]}'

run() { # name url auth [more oha options]
  oha -z "${secs}s" -c "$conc" --no-tui --output-format json -m POST \
    -H 'content-type: application/json' -H "authorization: Bearer $3" -d "$body" "${@:4}" "$2" >"$work/$1.json"
}
summ() {
  python3 - "$work/$1.json" <<'PY'
import json,sys
d=json.load(open(sys.argv[1]))
s=d["summary"]; p=d["latencyPercentiles"]; codes=d.get("statusCodeDistribution",{})
print(f'{s["requestsPerSec"]:.0f} {p["p50"]*1e3:.3f} {p["p99"]*1e3:.3f} {json.dumps(codes,separators=(",",":"))}')
PY
}
gpid_real=$(sed -n 's/^PID=//p' "$work/gw.out")
rss() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$gpid_real/status"; }
echo "gateway process RSS when ready: $(rss) MB (the gateway alone: vault, cost and the usage drain run in another process)"
# First, on the fresh gateway: 1,000 open connections at a steady 1,000 req/s in all (each
# sends about once a second), RSS sampled after 8 s.
oha -z 10s -c 1000 -q 1000 --no-tui --output-format json -m POST -H 'content-type: application/json' \
  -H "authorization: Bearer $key" -d "$body" "$url/v1/chat/completions" >"$work/q1000.json" &
opid=$!
sleep 8
echo "gateway process RSS with 1000 open connections at 1000 req/s: $(rss) MB"
wait "$opid" || true
read -r q_rps q_p50 q_p99 q_codes <<<"$(summ q1000)"
echo "c=1000 at 1000 req/s: $q_rps req/s, p50 $q_p50 ms, p99 $q_p99 ms, $q_codes"

# The c=32 comparison, in KW_BENCH_ROUNDS rounds (default 5) of direct, bare, then through Keyward: two
# shared cores make single runs noisy (the direct p99 alone varies by ±30%), so every round is
# printed and the verdict is the median of each figure over the rounds.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$gpid_real/stat"; } # utime + stime, in clock ticks
rounds="${KW_BENCH_ROUNDS:-5}"
printf '%-6s %-16s %10s %10s %10s  %s\n' "round" "" "req/s" "p50 ms" "p99 ms" "status codes"
: >"$work/rounds.txt"
for r in $(seq 1 "$rounds"); do
  run direct "http://127.0.0.1:$mport/v1/chat/completions" "sk-proj-benchFAKEbenchFAKEbenchFAKEbenchFAKEbenchFAKE00"
  run bare "$bare_url/v1/chat/completions" "unused"
  t0=$(cpu_ticks)
  run proxy "$url/v1/chat/completions" "$key"
  t1=$(cpu_ticks)
  read -r d_rps d_p50 d_p99 d_codes <<<"$(summ direct)"
  read -r b_rps b_p50 b_p99 b_codes <<<"$(summ bare)"
  read -r p_rps p_p50 p_p99 p_codes <<<"$(summ proxy)"
  n=$(python3 -c 'import json,sys; print(sum(json.load(open(sys.argv[1])).get("statusCodeDistribution",{}).values()))' "$work/proxy.json")
  printf '%-6s %-16s %10s %10s %10s  %s\n' "$r" "direct (mock)" "$d_rps" "$d_p50" "$d_p99" "$d_codes"
  printf '%-6s %-16s %10s %10s %10s  %s\n' "$r" "bare forwarder" "$b_rps" "$b_p50" "$b_p99" "$b_codes"
  printf '%-6s %-16s %10s %10s %10s  %s\n' "$r" "through keyward" "$p_rps" "$p_p50" "$p_p99" "$p_codes"
  echo "$d_rps $p_rps $d_p50 $p_p50 $d_p99 $p_p99 $((t1 - t0)) $n $b_rps $b_p50 $b_p99" >>"$work/rounds.txt"
done
python3 - "$work/rounds.txt" "$(getconf CLK_TCK)" <<'PY'
import statistics,sys
hz=int(sys.argv[2])
rows=[list(map(float,l.split())) for l in open(sys.argv[1]) if l.strip()]
for i,(d,p,a,b,c,e,t,n,fr,f50,f99) in enumerate(rows,1):
    print(f"round {i}: throughput ratio {p/d:.2f}; added p50 {b-a:.3f} ms; added p99 {e-c:.3f} ms; "
          f"gateway process CPU (user + system) {t/hz*1e6/max(n,1):.1f} µs per request; "
          f"bare forwarder: ratio {fr/d:.2f}, added p50 {f50-a:.3f} ms, added p99 {f99-c:.3f} ms")
med=lambda xs: statistics.median(xs)
print(f"median of {len(rows)} rounds: through keyward {med([r[1] for r in rows]):.0f} req/s "
      f"(direct {med([r[0] for r in rows]):.0f}); throughput ratio {med([r[1]/r[0] for r in rows]):.2f}; "
      f"added p50 {med([r[3]-r[2] for r in rows]):.3f} ms; added p99 {med([r[5]-r[4] for r in rows]):.3f} ms; "
      f"gateway CPU {med([r[6]/hz*1e6/max(r[7],1) for r in rows]):.1f} µs per request")
print(f"median of {len(rows)} rounds, the stack's floor (bare forwarder): {med([r[8] for r in rows]):.0f} req/s; "
      f"throughput ratio {med([r[8]/r[0] for r in rows]):.2f}; added p50 {med([r[9]-r[2] for r in rows]):.3f} ms; "
      f"added p99 {med([r[10]-r[4] for r in rows]):.3f} ms; Keyward over the floor: "
      f"{med([r[1]/r[8] for r in rows]):.2f}x the throughput, p99 {med([r[5]-r[10] for r in rows]):+.3f} ms")
PY

# The same connections at a fixed rate below saturation (KW_BENCH_RATE requests/s in all, default
# 5,000; 0 skips it): flat out, each side's latency is mostly its queue (c / throughput), so this
# shows what the gateway adds when neither the gateway nor the cores are the bottleneck.
rate="${KW_BENCH_RATE:-5000}"
if [ "$rate" -gt 0 ]; then
  run direct_rate "http://127.0.0.1:$mport/v1/chat/completions" "sk-proj-benchFAKEbenchFAKEbenchFAKEbenchFAKEbenchFAKE00" -q "$rate"
  run proxy_rate "$url/v1/chat/completions" "$key" -q "$rate"
  read -r d_rps d_p50 d_p99 d_codes <<<"$(summ direct_rate)"
  read -r p_rps p_p50 p_p99 p_codes <<<"$(summ proxy_rate)"
  echo "c=$conc at $rate req/s: direct $d_rps req/s, p50 $d_p50 ms, p99 $d_p99 ms, $d_codes; through keyward $p_rps req/s, p50 $p_p50 ms, p99 $p_p99 ms, $p_codes"
  python3 -c 'import sys; a,b,c,d=map(float,sys.argv[1:]); print(f"c='"$conc"' at '"$rate"' req/s: added p50 {c-a:.3f} ms; added p99 {d-b:.3f} ms")' \
    "$d_p50" "$d_p99" "$p_p50" "$p_p99"
fi

echo "gateway process RSS after the runs: $(rss) MB"
# Last, 1,000 connections flat out (each sends its next request as soon as it has an answer).
oha -z 10s -c 1000 --no-tui --output-format json -m POST -H 'content-type: application/json' \
  -H "authorization: Bearer $key" -d "$body" "$url/v1/chat/completions" >"$work/c1000.json" &
opid=$!
sleep 8
echo "gateway process RSS with 1000 connections flat out: $(rss) MB (peak $(awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$gpid_real/status") MB)"
wait "$opid" || true
read -r k_rps k_p50 k_p99 k_codes <<<"$(summ c1000)"
echo "c=1000 flat out: $k_rps req/s, p50 $k_p50 ms, p99 $k_p99 ms, $k_codes"

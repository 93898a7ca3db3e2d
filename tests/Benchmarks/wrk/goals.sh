#!/usr/bin/env bash
# Issues 3 and 5's throughput goals read against the day's machine, in one command: each round measures the bare app's
# reference points (anchors.sh) and, right after, the real endpoints on a fresh main job, and prints each goal scaled
# by the share of its reference it asks for (inbound embedded 15,000 of /hmac's ~90,000; calculate 25,000 of /basket's
# ~44,000; inbound distributed 8,000 of ~90,000 when the servers are there).
#   tests/Benchmarks/wrk/goals.sh [ROUNDS]        from the repository root; ROUNDS defaults to 1 (about 5 minutes each)
# Each round: a main job seeded with 10,000 active promotions (the first round only; later ones reuse its data), 15 s of
# calculate warm-up and 10 s measured; the anchors (/hmac, /basket, /basket-large, 5 s warm-up and 10 s each); then a
# main job on a fresh data directory, 20 s of inbound warm-up (the JIT settling, see README) and 2 × 10 s measured;
# with SERVERLESS_TEST_POSTGRES and SERVERLESS_TEST_RABBITMQ set (eval "$(tests/servers.sh start)") the same on the
# distributed profile with a fresh schema and 40 s of warm-up. wrk -t2 -c64 throughout, like the README's tables.
# Env: MAIN_PORT (7081), PORT (the anchor server's, 7072). Needs: wrk, python3, curl, the .NET SDK.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
rounds=${1:-1}
for tool in wrk python3 curl dotnet; do
  command -v "$tool" > /dev/null || { echo "goals.sh needs $tool (wrk: apt-get install wrk)" >&2; exit 1; }
done
port=${MAIN_PORT:-7081}
main=http://127.0.0.1:$port
work=$(mktemp -d)
host_pid=""
stop_host() { if [ -n "$host_pid" ]; then kill "$host_pid" 2>/dev/null || true; wait "$host_pid" 2>/dev/null || true; host_pid=""; fi; }
trap 'stop_host; rm -rf "$work"' EXIT

dotnet build -c Release "$root/services/Local/Serverless.Local" -v q -nologo > /dev/null
dotnet build -c Release "$here/.." -v q -nologo > /dev/null
host_dll=$root/services/Local/Serverless.Local/bin/Release/net10.0/Serverless.Local.dll

start_host() { # DATA_DIR [extra args...]: the main job with the GC settings of `dotnet run`, until /readyz answers
  local data=$1; shift
  mkdir -p "$data"
  DOTNET_gcServer=1 DOTNET_GCgen0size=0x4000000 dotnet "$host_dll" --urls "$main" --Serverless:DataDirectory="$data" "$@" \
    > "$data.log" 2>&1 &
  host_pid=$!
  for _ in $(seq 1 240); do curl -sf "$main/readyz" > /dev/null 2>&1 && return 0; sleep 0.5; done
  echo "the main job did not become ready; its log: $data.log" >&2; exit 1
}
rps() { awk '/Requests\/sec/{print $2}'; }
anchor_rps() { awk -v path="$1" '$0 == "== " path {f=1} f && /Requests\/sec/ {print $2; exit}' <<< "$anchors"; }

results=()
for round in $(seq 1 "$rounds"); do
  # Calculate: seed once, then reuse the seeded data directory (its snapshot compiles in a few seconds at start).
  start_host "$work/calculate"
  export ADMIN_KEY_FILE=$work/calculate/admin.key BODY_FILE=$work/calculate-body.json
  SEED=$([ "$round" = 1 ] && echo 1 || echo 0) "$here/calculate.sh" "$main" -t2 -c64 -d15s > /dev/null   # warm-up
  calculate=$(SEED=0 "$here/calculate.sh" "$main" -t2 -c64 -d10s | rps)
  curl -sf -X POST -H "Authorization: Bearer $(cat "$ADMIN_KEY_FILE")" -H 'content-type: application/json' \
    --data-binary @"$BODY_FILE" "$main/api/promotions/calculate" > "$work/answer.json"
  stop_host

  anchors=$(ANSWER_FILE=$work/answer.json "$here/anchors.sh" -t2 -c64 -d10s)
  hmac=$(anchor_rps /hmac); basket=$(anchor_rps /basket); large=$(anchor_rps /basket-large)
  grep -E '^(== PostgreSQL|tps|latency average)' <<< "$anchors" | sed "s/^/round $round: /" || true

  rm -rf "$work/inbound"
  start_host "$work/inbound"
  export ADMIN_KEY_FILE=$work/inbound/admin.key
  "$here/inbound.sh" "$main" -t2 -c64 -d20s > /dev/null
  inbound1=$("$here/inbound.sh" "$main" -t2 -c64 -d10s | rps)
  inbound2=$("$here/inbound.sh" "$main" -t2 -c64 -d10s | rps)
  stop_host

  distributed="-"
  if [ -n "${SERVERLESS_TEST_POSTGRES:-}" ] && [ -n "${SERVERLESS_TEST_RABBITMQ:-}" ]; then
    schema=goals_$(date +%s)_$round
    rm -rf "$work/distributed"
    start_host "$work/distributed" --Serverless:Profile=distributed --Serverless:PostgresSchema="$schema" \
      --ConnectionStrings:Postgres="$SERVERLESS_TEST_POSTGRES" --ConnectionStrings:RabbitMq="$SERVERLESS_TEST_RABBITMQ"
    export ADMIN_KEY_FILE=$work/distributed/admin.key
    "$here/inbound.sh" "$main" -t2 -c64 -d40s > /dev/null
    distributed=$("$here/inbound.sh" "$main" -t2 -c64 -d10s | rps)
    stop_host
  fi
  results+=("$round $hmac $basket ${large:--} $calculate $inbound1 $inbound2 $distributed")
done

python3 - "${results[@]}" <<'EOF'
import sys
def f(x): return '-' if x == '-' else f'{float(x):,.0f}'
print('| round | /hmac | /basket | /basket-large | calculate | inbound embedded | inbound distributed |')
print('|---|---|---|---|---|---|---|')
rows = [r.split() for r in sys.argv[1:]]
for r in rows:
    print(f'| {r[0]} | {f(r[1])} | {f(r[2])} | {f(r[3])} | {f(r[4])} | {f(r[5])}, {f(r[6])} | {f(r[7])} |')
print()
print('| round | goal | scaled by the day\'s reference | ours | ours / scaled goal |')
print('|---|---|---|---|---|')
for r in rows:
    hmac, basket = float(r[1]), float(r[2])
    goals = [('inbound embedded ≥ 15,000/s', hmac * 15000 / 90000, [r[5], r[6]]),
             ('calculate over HTTP ≥ 25,000/s', basket * 25000 / 44000, [r[4]])]
    if r[7] != '-':
        goals.append(('inbound distributed ≥ 8,000/s', hmac * 8000 / 90000, [r[7]]))
    for name, scaled, ours in goals:
        ratios = ', '.join(f'{float(o) / scaled:.2f}' for o in ours)
        print(f'| {r[0]} | {name} | {scaled:,.0f} | {", ".join(f(o) for o in ours)} | {ratios} |')
EOF

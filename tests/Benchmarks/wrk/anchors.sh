#!/usr/bin/env bash
# The issues' reference points on the day's machine: a bare Kestrel app (Benchmarks anchor-server) under the same wrk
# load as inbound.sh and calculate.sh, so a speed goal can be read against what this machine does without our code.
#   tests/Benchmarks/wrk/anchors.sh [wrk args...]     e.g. anchors.sh -t2 -c64 -d10s
#   /hmac          verify a GitHub signature over the raw body, 202  (issue 3: "HMAC verification + 202 alone")
#   /basket        parse the 30-line calculate request, answer a small JSON  (issue 5: "without any pricing")
#   /basket-large  parse it the same way, answer the bytes of a real calculate answer (the HTTP cost of its size)
# With SERVERLESS_TEST_POSTGRES set (tests/servers.sh start) and pgbench installed it also measures issue 3's PostgreSQL
# reference: single-row commits/s from 8 connections, and rows/s when 50 rows share a commit.
# Env: BODY_FILE (the calculate request; default .data/calculate-body.json, which calculate.sh writes), ANSWER_FILE (a
# calculate answer for /basket-large; default: fetched from the main job at MAIN_URL with .data/admin.key when it
# answers, else /basket-large is skipped), PORT (7072). Each endpoint gets 5 s of warm-up first. The server runs with
# the main job's GC settings (server GC, 64 MB smallest gen0 budget). Needs: wrk, python3, the .NET SDK.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
url=http://127.0.0.1:${PORT:-7072}
export BODY_FILE=${BODY_FILE:-.data/calculate-body.json} KEY=anchor
key_file=${ADMIN_KEY_FILE:-.data/admin.key}
answer=${ANSWER_FILE:-}
fetched=""
if [ -z "$answer" ] && [ -f "$key_file" ]; then
  answer=$(mktemp); fetched=$answer
  curl -sf -X POST -H "Authorization: Bearer $(cat "$key_file")" -H 'content-type: application/json' \
    --data-binary @"$BODY_FILE" "${MAIN_URL:-http://127.0.0.1:7071}/api/promotions/calculate" > "$answer" || answer=""
fi
dotnet build -c Release "$here/.." -v q -nologo > /dev/null
DOTNET_gcServer=1 DOTNET_GCgen0size=0x4000000 dotnet "$here/../bin/Release/net10.0/Benchmarks.dll" anchor-server \
  --port "${PORT:-7072}" ${answer:+--answer-file "$answer"} &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true; rm -f "$fetched"' EXIT
for _ in $(seq 1 120); do curl -s -o /dev/null "$url/" && break; sleep 0.5; done
secret=bench-secret
. "$here/push-body.sh"
run() { # LUA PATH: 5 s warm-up, then the measured run
  wrk -t2 -c64 -d5s -s "$here/$1" "$url$2" > /dev/null
  echo "== $2"
  wrk ${ARGS:--t2 -c64 -d10s} --latency -s "$here/$1" "$url$2"
}
ARGS="$*"
run github-push.lua /hmac
run calculate.lua /basket
if [ -n "$answer" ]; then run calculate.lua /basket-large; fi

if [ -n "${SERVERLESS_TEST_POSTGRES:-}" ] && command -v pgbench > /dev/null; then
  pg_port=$(sed -n 's/.*Port=\([0-9]*\).*/\1/p' <<< "$SERVERLESS_TEST_POSTGRES")
  pg_user=$(sed -n 's/.*Username=\([^;]*\).*/\1/p' <<< "$SERVERLESS_TEST_POSTGRES")
  pg=(-h 127.0.0.1 -p "$pg_port" -U "${pg_user:-postgres}" postgres)
  scripts=$(mktemp -d)
  echo "INSERT INTO anchor_rows (payload) VALUES (repeat('x', 200));" > "$scripts/1.sql"
  echo "INSERT INTO anchor_rows (payload) SELECT repeat('x', 200) FROM generate_series(1, 50);" > "$scripts/50.sql"
  psql -q "${pg[@]}" -c "DROP TABLE IF EXISTS anchor_rows; CREATE TABLE anchor_rows (id bigserial PRIMARY KEY, payload text)"
  for script in 1 50; do
    echo "== PostgreSQL, $script row(s) of 200 bytes per commit, 8 connections (rows/s = tps × $script)"
    pgbench -n -c 8 -j 2 -M prepared -T 10 -f "$scripts/$script.sql" "${pg[@]}" | grep -E "^(tps|latency average)"
  done
  psql -q "${pg[@]}" -c "DROP TABLE anchor_rows"
  rm -rf "$scripts"
fi

#!/usr/bin/env bash
# The issues' reference points on the day's machine: a bare Kestrel app (Benchmarks anchor-server) under the same wrk
# load as inbound.sh and calculate.sh, so a speed goal can be read against what this machine does without our code.
#   tests/Benchmarks/wrk/anchors.sh [wrk args...]     e.g. anchors.sh -t2 -c64 -d10s
#   /hmac          verify a GitHub signature over the raw body, 202  (issue 3: "HMAC verification + 202 alone")
#   /basket        parse the 30-line calculate request, answer a small JSON  (issue 5: "without any pricing")
#   /basket-large  parse it the same way, answer the bytes of a real calculate answer (the HTTP cost of its size)
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
if [ -z "$answer" ] && [ -f "$key_file" ]; then
  answer=$(mktemp)
  curl -sf -X POST -H "Authorization: Bearer $(cat "$key_file")" -H 'content-type: application/json' \
    --data-binary @"$BODY_FILE" "${MAIN_URL:-http://127.0.0.1:7071}/api/promotions/calculate" > "$answer" || answer=""
fi
dotnet build -c Release "$here/.." -v q -nologo > /dev/null
DOTNET_gcServer=1 DOTNET_GCgen0size=0x4000000 dotnet "$here/../bin/Release/net10.0/Benchmarks.dll" anchor-server \
  --port "${PORT:-7072}" ${answer:+--answer-file "$answer"} &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
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

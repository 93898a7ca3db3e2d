#!/usr/bin/env bash
# Inbound webhooks load: wrk against a running main job (verify raw body + persist receipt/outbox + 202).
#   tests/Benchmarks/wrk/inbound.sh [URL] [wrk args...]     e.g. inbound.sh http://127.0.0.1:7071 -t2 -c64 -d15s
# Needs: wrk (apt-get install wrk), python3, the main job running, its admin key in ./.data/admin.key.
set -euo pipefail
url=${1:-http://127.0.0.1:7071}; shift || true
here=$(cd "$(dirname "$0")" && pwd)
key=$(cat "${ADMIN_KEY_FILE:-.data/admin.key}")
secret="bench-secret"
curl -sf -X PUT -H "Authorization: Bearer $key" -H 'content-type: application/json' \
  -d "{\"kind\":\"github\",\"secrets\":[\"$secret\"]}" "$url/api/webhooks/sources/bench" > /dev/null
export BODY='{"ref":"refs/heads/main","before":"6113728f27ae82c7b1a177c8d03f9e96e0adf246","after":"59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5","repository":{"full_name":"retail/checkout"},"pusher":{"name":"octocat"},"commits":[{"id":"59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5","message":"Fix basket rounding","timestamp":"2026-11-22T06:00:00Z","author":{"name":"Octo Cat"},"added":[],"modified":["src/basket.cs"],"removed":[]}]}'
export SIGNATURE="sha256=$(python3 -c 'import hmac,hashlib,os,sys; print(hmac.new(sys.argv[1].encode(), os.environ["BODY"].encode(), hashlib.sha256).hexdigest())' "$secret")"
exec wrk "${@:--t2 -c64 -d15s}" --latency -s "$here/github-push.lua" "$url/api/webhooks/in/bench"

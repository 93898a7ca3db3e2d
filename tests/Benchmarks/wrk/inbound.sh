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
. "$here/push-body.sh"
exec wrk ${@:--t2 -c64 -d15s} --latency -s "$here/github-push.lua" "$url/api/webhooks/in/bench"

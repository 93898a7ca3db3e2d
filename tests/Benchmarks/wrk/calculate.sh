#!/usr/bin/env bash
# Calculate load: wrk POSTing a 30-line basket to /api/promotions/calculate of a running main job.
#   tests/Benchmarks/wrk/calculate.sh [URL] [wrk args...]     e.g. calculate.sh http://127.0.0.1:7071 -t2 -c64 -d15s
# Seeds the job first with 10,000 active promotions through the API (the engine benchmark's retail mix; skip with
# SEED=0 when already seeded, PROMOTIONS=n for another count) and writes the basket body next to the data directory.
# Needs: wrk (apt-get install wrk), the .NET SDK, the main job running, its admin key in ./.data/admin.key.
set -euo pipefail
url=${1:-http://127.0.0.1:7071}; shift || true
here=$(cd "$(dirname "$0")" && pwd)
key_file=${ADMIN_KEY_FILE:-.data/admin.key}
export BODY_FILE=${BODY_FILE:-$(dirname "$key_file")/calculate-body.json}
if [ "${SEED:-1}" = 1 ]; then
  dotnet run -c Release --project "$here/.." -- promotions-seed --url "$url" --promotions "${PROMOTIONS:-10000}" --key-file "$key_file" --out "$BODY_FILE"
fi
export KEY=$(cat "$key_file")
exec wrk ${@:--t2 -c64 -d15s} --latency -s "$here/calculate.lua" "$url/api/promotions/calculate"

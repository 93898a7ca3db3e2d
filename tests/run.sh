#!/usr/bin/env bash
# The one test command, for a newcomer and for CI:
#   tests/run.sh [dotnet test args...]      e.g. tests/run.sh --filter "FullyQualifiedName~State"
# Starts PostgreSQL, RabbitMQ and Azurite on free 127.0.0.1 ports (tests/servers.sh), runs
# `dotnet test Serverless.sln -c Release` against them, stops them again (also when the tests
# fail or the run is interrupted), prints "N passed, N failed, N skipped" last and exits with
# dotnet test's exit code (non-zero too when no test ran).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export DOTNET_NOLOGO="${DOTNET_NOLOGO:-1}"
export DOTNET_CLI_TELEMETRY_OPTOUT="${DOTNET_CLI_TELEMETRY_OPTOUT:-1}"

test_log=$(mktemp "${TMPDIR:-/tmp}/serverless-test-output.XXXXXX")
cleanup() {
  local rc=$?
  if [[ -n "${SERVERLESS_SERVERS_DIR:-}" ]]; then
    tests/servers.sh stop "$SERVERLESS_SERVERS_DIR" || true
  fi
  rm -f "$test_log"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# On failure servers.sh stops whatever it had started itself and says why.
server_env=$(tests/servers.sh start)
eval "$server_env"

set +e
dotnet test Serverless.sln -c Release --logger "console;verbosity=normal" "$@" 2>&1 | tee "$test_log"
rc=${PIPESTATUS[0]}
set -e

# VSTest closes each test assembly's run with totals: at the normal verbosity used here a block
#   Total tests: 3 /      Passed: 2 /      Failed: 1 /     Skipped: 0 /  Total time: 1.2 Seconds
# and at minimal verbosity (if the caller passes another --logger) one line
#   Passed!  - Failed:     0, Passed:     2, Skipped:     0, Total:     2, Duration: 5 ms - X.dll (net10.0)
# Both are summed over assemblies; the blocks win when there are any.
read -r passed failed skipped total < <(
  sed 's/\x1b\[[0-9;]*m//g; s/\r$//' "$test_log" | awk '
    /^Total tests: +[0-9]+ *$/ { inblock = 1; bt += $3; next }
    inblock && /^ +Passed: +[0-9]+ *$/ { bp += $2; next }
    inblock && /^ +Failed: +[0-9]+ *$/ { bf += $2; next }
    inblock && /^ +Skipped: +[0-9]+ *$/ { bs += $2; next }
    inblock && /^ +Total time:/ { inblock = 0; next }
    /(Passed|Failed)! +- +Failed: +[0-9]+, +Passed: +[0-9]+, +Skipped: +[0-9]+, +Total: +[0-9]+/ {
      line = $0; sub(/.*- +Failed: +/, "", line)
      split(line, parts, /, +[A-Za-z]+: +/)
      mf += parts[1] + 0; mp += parts[2] + 0; ms += parts[3] + 0; mt += parts[4] + 0
    }
    END {
      if (bt > 0) printf "%d %d %d %d\n", bp, bf, bs, bt
      else printf "%d %d %d %d\n", mp, mf, ms, mt
    }')

# stop the servers now, so that the summary below is the last line
tests/servers.sh stop "$SERVERLESS_SERVERS_DIR" || true
SERVERLESS_SERVERS_DIR=""

if ((rc == 0 && total == 0)); then
  echo "tests/run.sh: dotnet test ran no test" >&2
  rc=1
fi
echo
echo "$passed passed, $failed failed, $skipped skipped"
exit "$rc"

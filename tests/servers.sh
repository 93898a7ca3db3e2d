#!/usr/bin/env bash
# Installs, starts and stops the real servers the tests and benchmarks use:
# PostgreSQL 15, RabbitMQ and Azurite, each bound to 127.0.0.1 only, on free ports,
# in a fresh temporary directory, started and stopped by pid.
#
#   tests/servers.sh start [postgres] [rabbitmq] [azurite]
#       Installs what is missing, starts the named servers (all three by default), waits until
#       each answers and prints `export VAR='value'` lines on stdout (progress goes to stderr).
#       The same lines are in "$SERVERLESS_SERVERS_DIR/env". Use it as:
#           eval "$(tests/servers.sh start)"
#   tests/servers.sh stop [DIR]
#       Stops every server started in DIR (default: $SERVERLESS_SERVERS_DIR) and removes DIR.
#   tests/servers.sh status [DIR]
#       Shows the servers of DIR and whether each is still running.
#   tests/servers.sh install
#       Only installs what is missing (PostgreSQL 15, RabbitMQ, Azurite).
#
# Variables exported by `start` (see tests/README.md):
#   SERVERLESS_SERVERS_DIR          the temporary directory (data, logs, pids, env file)
#   SERVERLESS_TEST_POSTGRES        Npgsql connection string (user postgres, trust auth)
#   SERVERLESS_TEST_RABBITMQ        amqp://guest:guest@127.0.0.1:PORT/
#   SERVERLESS_TEST_AZURITE_TABLES  http://127.0.0.1:PORT/devstoreaccount1 (also _BLOBS, _QUEUES)
#
# Knobs: SERVERLESS_SERVERS_TIMEOUT (seconds each server may take to answer, default 120),
#        SERVERLESS_TOOLS_DIR (where Azurite is npm-installed, default tests/.tools).
set -euo pipefail

SERVERS_SH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOOLS_DIR="${SERVERLESS_TOOLS_DIR:-$SERVERS_SH_DIR/.tools}"
START_TIMEOUT="${SERVERLESS_SERVERS_TIMEOUT:-120}"

PG_VERSION=15
PG_BIN="/usr/lib/postgresql/$PG_VERSION/bin"
RABBIT_BIN=/usr/lib/rabbitmq/bin
# 3.36+ require Node 21/22; Debian 12 and this image have Node 18/20.
AZURITE_VERSION=3.35.0
MARKER=.serverless-servers

export DEBIAN_FRONTEND=noninteractive

log() { echo "servers.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

now() { echo "${EPOCHREALTIME:-$(date +%s)}"; }
elapsed_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

log_tail() { # file
  if [[ -s "$1" ]]; then
    echo "----- last lines of $1 -----" >&2
    tail -n 40 "$1" >&2 || true
    echo "-----" >&2
  fi
}

# ---------------------------------------------------------------- installation

# Runs apt-get install, with `apt-get update` first only when the install fails.
# Keeps services from being started by the packages' maintainer scripts.
apt_install() {
  [[ $EUID -eq 0 ]] || die "need root to install $* (run: sudo apt-get install -y $*)"
  local apt_log="${TMPDIR:-/tmp}/serverless-apt.$$.log" added_policy=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && added_policy=1
  fi
  local apt=(apt-get -y -q -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  log "installing $* with apt-get"
  local ok=""
  if (flock 9; "${apt[@]}" install --no-install-recommends "$@") 9>/var/lock/serverless-servers-apt.lock >"$apt_log" 2>&1; then
    ok=1
  elif (flock 9; "${apt[@]}" update && "${apt[@]}" install --no-install-recommends "$@") 9>/var/lock/serverless-servers-apt.lock >>"$apt_log" 2>&1; then
    ok=1
  fi
  [[ -n "$added_policy" ]] && rm -f /usr/sbin/policy-rc.d
  if [[ -z "$ok" ]]; then
    log_tail "$apt_log"
    rm -f "$apt_log"
    die "apt-get install $* failed"
  fi
  rm -f "$apt_log"
}

install_postgres() {
  [[ -x "$PG_BIN/postgres" && -x "$PG_BIN/initdb" && -x "$PG_BIN/pg_isready" ]] || apt_install "postgresql-$PG_VERSION"
  [[ -x "$PG_BIN/postgres" ]] || die "PostgreSQL $PG_VERSION is not in $PG_BIN after installing it"
}

install_rabbitmq() {
  [[ -x "$RABBIT_BIN/rabbitmq-server" && -x "$RABBIT_BIN/rabbitmqctl" ]] && command -v epmd >/dev/null || apt_install rabbitmq-server
  [[ -x "$RABBIT_BIN/rabbitmq-server" ]] || die "rabbitmq-server is not in $RABBIT_BIN after installing it"
}

azurite_installed_version() {
  local pkg="$TOOLS_DIR/node_modules/azurite/package.json"
  [[ -f "$pkg" && -x "$TOOLS_DIR/node_modules/.bin/azurite" ]] || return 0
  sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$pkg" | head -n 1
}

install_azurite() {
  # separately: some nodejs builds (NodeSource's) carry npm and conflict with Debian's npm package
  command -v node >/dev/null || apt_install nodejs
  command -v npm >/dev/null || apt_install npm
  mkdir -p "$TOOLS_DIR"
  [[ "$(azurite_installed_version)" == "$AZURITE_VERSION" ]] && return 0
  (
    flock 9
    [[ "$(azurite_installed_version)" == "$AZURITE_VERSION" ]] && exit 0
    log "installing azurite@$AZURITE_VERSION into $TOOLS_DIR (npm)"
    [[ -f "$TOOLS_DIR/package.json" ]] || echo '{ "private": true }' >"$TOOLS_DIR/package.json"
    if ! npm install --prefix "$TOOLS_DIR" --no-audit --no-fund --loglevel=error \
        "azurite@$AZURITE_VERSION" >"$TOOLS_DIR/npm-install.log" 2>&1; then
      log_tail "$TOOLS_DIR/npm-install.log"
      die "npm install azurite@$AZURITE_VERSION failed"
    fi
  ) 9>"$TOOLS_DIR/.install.lock"
  [[ "$(azurite_installed_version)" == "$AZURITE_VERSION" ]] || die "azurite is not in $TOOLS_DIR after installing it"
}

# ---------------------------------------------------------------- helpers

PICKED_PORTS=" "

port_in_use() { # port: anything (listening or connected) on it, on any address?
  if command -v ss >/dev/null; then
    [[ -n "$(ss -Htan "( sport = :$1 )" 2>/dev/null)" ]] && return 0
    return 1
  fi
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pick_ports VAR COUNT: sets VAR to the first of COUNT consecutive free ports, below the
# ephemeral range (32768+) so that no outgoing connection takes them meanwhile.
pick_ports() {
  local var=$1 count=${2:-1} attempt base i ok
  for attempt in $(seq 1 500); do
    base=$((20000 + RANDOM % (12000 - count)))
    ok=1
    for ((i = 0; i < count; i++)); do
      if [[ "$PICKED_PORTS" == *" $((base + i)) "* ]] || port_in_use $((base + i)); then ok=""; break; fi
    done
    if [[ -n "$ok" ]]; then
      for ((i = 0; i < count; i++)); do PICKED_PORTS+="$((base + i)) "; done
      printf -v "$var" '%s' "$base"
      return 0
    fi
  done
  die "found no free port"
}

tcp_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# launch NAME USER LOG CMD...: starts CMD in its own session (so its process group is its pid),
# as USER when we are root, with stdin/stdout/stderr detached; its pid goes to $STATE_DIR/NAME.pid.
launch() {
  local name=$1 user=$2 logf=$3; shift 3
  local pidf="$STATE_DIR/$name.pid" cmd=("$@")
  if [[ $EUID -eq 0 && -n "$user" ]]; then
    cmd=(setpriv --reuid="$user" --regid="$user" --init-groups -- "${cmd[@]}")
  fi
  rm -f "$pidf"
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidf" "${cmd[@]}" </dev/null >>"$logf" 2>&1 &
  local i
  for i in $(seq 1 100); do [[ -s "$pidf" ]] && break; sleep 0.05; done
  [[ -s "$pidf" ]] || die "could not start $name"
}

as_user() { # USER CMD...: runs CMD as USER when we are root (servers refuse to run as root)
  local user=$1; shift
  if [[ $EUID -eq 0 ]]; then
    setpriv --reuid="$user" --regid="$user" --init-groups -- "$@"
  else
    "$@"
  fi
}

pid_of() { [[ -s "$STATE_DIR/$1.pid" ]] && cat "$STATE_DIR/$1.pid"; }
alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

# wait_for NAME PID LOG CHECK...: polls CHECK until it succeeds; fails with the log tail when
# the process dies or the deadline passes.
wait_for() {
  local name=$1 pid=$2 logf=$3; shift 3
  local deadline=$((SECONDS + START_TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    if ! alive "$pid"; then
      log_tail "$logf"
      die "$name exited during start-up"
    fi
    if ((SECONDS >= deadline)); then
      log_tail "$logf"
      die "$name did not answer within ${START_TIMEOUT}s"
    fi
    sleep 0.2
  done
}

# await_exit_or_kill NAME PID SECONDS: waits up to SECONDS for PID to exit (after the caller asked it
# to), then kills its whole process group.
await_exit_or_kill() {
  local name=$1 pid=$2 secs=$3 deadline
  deadline=$((SECONDS + secs))
  while alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
  if alive "$pid"; then
    log "$name (pid $pid) did not stop in ${secs}s: killing it"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 5))
    while alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
  fi
  # whatever else is left in its process group (children) goes too
  kill -KILL -- "-$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------- PostgreSQL

start_postgres() {
  local t0 dir="$STATE_DIR/postgres" port
  t0=$(now)
  pick_ports port
  mkdir -p "$dir"
  [[ $EUID -eq 0 ]] && chown postgres:postgres "$dir"
  chmod 700 "$dir"
  echo "$port" >"$STATE_DIR/postgres.port"
  if ! (cd "$dir" && as_user postgres "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust \
      -E UTF8 --locale=C --no-sync --no-instructions) >"$STATE_DIR/postgres-initdb.log" 2>&1; then
    log_tail "$STATE_DIR/postgres-initdb.log"
    die "initdb failed"
  fi
  launch postgres postgres "$STATE_DIR/postgres.log" \
    "$PG_BIN/postgres" -D "$dir/data" \
    -c listen_addresses=127.0.0.1 -c port="$port" -c unix_socket_directories="$dir" \
    -c wal_level=logical -c max_replication_slots=8 -c max_wal_senders=8 -c max_connections=300
  PG_T0=$t0
}

await_postgres() {
  local port
  port=$(cat "$STATE_DIR/postgres.port")
  wait_for postgres "$(pid_of postgres)" "$STATE_DIR/postgres.log" \
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -t 2
  log "postgres ready on 127.0.0.1:$port in $(elapsed_since "$PG_T0")s (initdb included)"
  ENV_LINES+=("SERVERLESS_TEST_POSTGRES=Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres;Include Error Detail=true")
}

stop_postgres() {
  local pid
  pid=$(pid_of postgres) || return 0
  if alive "$pid"; then
    kill -INT "$pid" 2>/dev/null || true # fast shutdown
    await_exit_or_kill postgres "$pid" 30
  fi
  # a postmaster that died hard (killed, crashed) leaves its System V shared memory behind
  local shmid
  for shmid in $(ipcs -m -p 2>/dev/null | awk -v pid="$pid" '$3 == pid { print $1 }'); do
    ipcrm -m "$shmid" 2>/dev/null || true
  done
}

# ---------------------------------------------------------------- RabbitMQ

# The environment shared by rabbitmq-server and rabbitmqctl: its own HOME (Erlang cookie),
# data, logs, node name, ports and an epmd of its own, everything on 127.0.0.1.
rabbit_env() {
  local dir="$STATE_DIR/rabbitmq"
  local ports
  read -r -a ports <"$STATE_DIR/rabbitmq.ports" # amqp dist epmd ctl
  echo "HOME=$dir/home"
  echo "RABBITMQ_NODENAME=$(cat "$STATE_DIR/rabbitmq.node")"
  echo "RABBITMQ_USE_LONGNAME=false"
  echo "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1"
  echo "RABBITMQ_NODE_PORT=${ports[0]}"
  echo "RABBITMQ_DIST_PORT=${ports[1]}"
  echo "ERL_EPMD_ADDRESS=127.0.0.1"
  echo "ERL_EPMD_PORT=${ports[2]}"
  echo "RABBITMQ_CTL_DIST_PORT_MIN=${ports[3]}"
  echo "RABBITMQ_CTL_DIST_PORT_MAX=$((ports[3] + 4))"
  echo "RABBITMQ_CTL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}"
  echo "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}"
  echo "RABBITMQ_MNESIA_BASE=$dir/mnesia"
  echo "RABBITMQ_LOG_BASE=$dir/log"
  echo "RABBITMQ_PID_FILE=$dir/beam.pid"
  echo "RABBITMQ_CONF_ENV_FILE=$dir/rabbitmq-env.conf"
  echo "RABBITMQ_CONFIG_FILE=$dir/rabbitmq.conf"
  echo "RABBITMQ_ADVANCED_CONFIG_FILE=$dir/advanced.config"
  echo "RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins"
}

rabbit_cmd() { # CMD...: runs CMD with the node's environment, as the rabbitmq user
  local envs
  mapfile -t envs < <(rabbit_env)
  (cd "$STATE_DIR/rabbitmq" && as_user rabbitmq env "${envs[@]}" "$@")
}

start_rabbitmq() {
  local t0 dir="$STATE_DIR/rabbitmq" amqp dist epmd ctl envs
  t0=$(now)
  pick_ports amqp
  pick_ports dist
  pick_ports epmd
  pick_ports ctl 5
  echo "$amqp $dist $epmd $ctl" >"$STATE_DIR/rabbitmq.ports"
  echo "serverless-$$-$RANDOM@localhost" >"$STATE_DIR/rabbitmq.node"
  mkdir -p "$dir/home" "$dir/mnesia" "$dir/log"
  : >"$dir/rabbitmq-env.conf"
  echo '[].' >"$dir/enabled_plugins"
  echo '[].' >"$dir/advanced.config"
  cat >"$dir/rabbitmq.conf" <<EOF
# written by tests/servers.sh: a throw-away broker for tests; it listens on
# RABBITMQ_NODE_IP_ADDRESS:RABBITMQ_NODE_PORT (127.0.0.1:$amqp) only
loopback_users.guest = true
EOF
  [[ $EUID -eq 0 ]] && chown -R rabbitmq:rabbitmq "$dir"
  mapfile -t envs < <(rabbit_env)
  # epmd first, of our own, on loopback and its own port, so that we know its pid;
  # the Erlang VM then registers with it instead of starting one.
  launch epmd rabbitmq "$STATE_DIR/epmd.log" env "${envs[@]}" epmd -address 127.0.0.1 -port "$epmd"
  wait_for epmd "$(pid_of epmd)" "$STATE_DIR/epmd.log" tcp_answers "$epmd"
  launch rabbitmq rabbitmq "$STATE_DIR/rabbitmq.log" env "${envs[@]}" "$RABBIT_BIN/rabbitmq-server"
  RABBIT_T0=$t0
}

await_rabbitmq() {
  local amqp
  read -r amqp _ <"$STATE_DIR/rabbitmq.ports"
  wait_for rabbitmq "$(pid_of rabbitmq)" "$STATE_DIR/rabbitmq.log" tcp_answers "$amqp"
  if ! rabbit_cmd timeout 60 "$RABBIT_BIN/rabbitmqctl" await_startup --timeout 50 >>"$STATE_DIR/rabbitmq.log" 2>&1; then
    log_tail "$STATE_DIR/rabbitmq.log"
    die "rabbitmqctl await_startup failed"
  fi
  log "rabbitmq ready on 127.0.0.1:$amqp in $(elapsed_since "$RABBIT_T0")s"
  ENV_LINES+=("SERVERLESS_TEST_RABBITMQ=amqp://guest:guest@127.0.0.1:$amqp/")
}

stop_rabbitmq() {
  local pid beam
  pid=$(pid_of rabbitmq) || pid=""
  if alive "$pid"; then
    rabbit_cmd timeout 40 "$RABBIT_BIN/rabbitmqctl" stop >>"$STATE_DIR/rabbitmq.log" 2>&1 || true
    alive "$pid" && kill -TERM "$pid" 2>/dev/null
    await_exit_or_kill rabbitmq "$pid" 30
  fi
  # the VM itself, in case it outlived the wrapper script
  beam=$(cat "$STATE_DIR/rabbitmq/beam.pid" 2>/dev/null) || beam=""
  if alive "$beam"; then
    kill -TERM "$beam" 2>/dev/null || true
    await_exit_or_kill rabbitmq-beam "$beam" 20
  fi
  pid=$(pid_of epmd) || return 0
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    await_exit_or_kill epmd "$pid" 10
  fi
}

# ---------------------------------------------------------------- Azurite

start_azurite() {
  local t0 dir="$STATE_DIR/azurite" blob queue table
  t0=$(now)
  pick_ports blob
  pick_ports queue
  pick_ports table
  echo "$blob $queue $table" >"$STATE_DIR/azurite.ports"
  mkdir -p "$dir"
  # .bin/azurite is the package's script (#!/usr/bin/env node): `npx azurite` without npx's
  # extra processes, so that the pid we keep is node's.
  launch azurite "" "$STATE_DIR/azurite.log" "$TOOLS_DIR/node_modules/.bin/azurite" \
    --silent --location "$dir" --skipApiVersionCheck \
    --blobHost 127.0.0.1 --blobPort "$blob" \
    --queueHost 127.0.0.1 --queuePort "$queue" \
    --tableHost 127.0.0.1 --tablePort "$table"
  AZURITE_T0=$t0
}

await_azurite() {
  local blob queue table pid
  read -r blob queue table <"$STATE_DIR/azurite.ports"
  pid=$(pid_of azurite)
  wait_for azurite "$pid" "$STATE_DIR/azurite.log" tcp_answers "$blob"
  wait_for azurite "$pid" "$STATE_DIR/azurite.log" tcp_answers "$queue"
  wait_for azurite "$pid" "$STATE_DIR/azurite.log" tcp_answers "$table"
  log "azurite ready on 127.0.0.1:$blob/$queue/$table (blob/queue/table) in $(elapsed_since "$AZURITE_T0")s"
  ENV_LINES+=("SERVERLESS_TEST_AZURITE_TABLES=http://127.0.0.1:$table/devstoreaccount1")
  ENV_LINES+=("SERVERLESS_TEST_AZURITE_BLOBS=http://127.0.0.1:$blob/devstoreaccount1")
  ENV_LINES+=("SERVERLESS_TEST_AZURITE_QUEUES=http://127.0.0.1:$queue/devstoreaccount1")
}

stop_azurite() {
  local pid
  pid=$(pid_of azurite) || return 0
  alive "$pid" || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  await_exit_or_kill azurite "$pid" 15
}

# ---------------------------------------------------------------- commands

stop_dir() { # DIR
  STATE_DIR=$1
  [[ -d "$STATE_DIR" ]] || { log "nothing to stop: $STATE_DIR does not exist"; return 0; }
  [[ -f "$STATE_DIR/$MARKER" ]] || die "$STATE_DIR was not made by tests/servers.sh start: not touching it"
  local t0
  t0=$(now)
  # in parallel: rabbitmqctl stop alone takes seconds
  stop_azurite &
  local a=$!
  stop_rabbitmq &
  local r=$!
  stop_postgres || true
  wait "$a" || true
  wait "$r" || true
  rm -rf "$STATE_DIR"
  log "stopped and removed $STATE_DIR in $(elapsed_since "$t0")s"
}

cmd_stop() {
  local dir=${1:-${SERVERLESS_SERVERS_DIR:-}}
  [[ -n "$dir" ]] || die "usage: tests/servers.sh stop DIR (or with SERVERLESS_SERVERS_DIR set, as after eval \"\$(tests/servers.sh start)\")"
  stop_dir "$dir"
}

cmd_status() {
  local dir=${1:-${SERVERLESS_SERVERS_DIR:-}} name pid
  [[ -n "$dir" && -f "$dir/$MARKER" ]] || die "usage: tests/servers.sh status DIR (or with SERVERLESS_SERVERS_DIR set)"
  STATE_DIR=$dir
  for name in postgres epmd rabbitmq azurite; do
    pid=$(pid_of "$name") || continue
    if alive "$pid"; then echo "$name: running, pid $pid"; else echo "$name: not running (pid $pid)"; fi
  done
  cat "$dir/env" 2>/dev/null || true
}

STARTED=""
on_start_exit() {
  local rc=$?
  if [[ -z "$STARTED" && -n "${STATE_DIR:-}" && -d "$STATE_DIR" ]]; then
    log "start-up failed: stopping what was started"
    # keep the logs of a failed start for reading
    local keep="${TMPDIR:-/tmp}/serverless-servers-failed.$$"
    mkdir -p "$keep" && cp "$STATE_DIR"/*.log "$keep"/ 2>/dev/null && cp -r "$STATE_DIR/rabbitmq/log" "$keep/rabbitmq-log" 2>/dev/null
    log "logs kept in $keep"
    (stop_dir "$STATE_DIR") || true
  fi
  exit "$rc"
}

cmd_start() {
  local want=("$@") s t0
  ((${#want[@]})) || want=(postgres rabbitmq azurite)
  for s in "${want[@]}"; do
    case "$s" in postgres | rabbitmq | azurite) ;; *) die "unknown server '$s' (postgres, rabbitmq, azurite)" ;; esac
  done
  has() { [[ " ${want[*]} " == *" $1 "* ]]; }
  t0=$(now)

  has postgres && install_postgres
  has rabbitmq && install_rabbitmq
  has azurite && install_azurite
  command -v setsid >/dev/null && command -v setpriv >/dev/null || apt_install util-linux

  trap on_start_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  STATE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/serverless-servers.XXXXXX")
  chmod 755 "$STATE_DIR" # the postgres and rabbitmq users must reach their subfolders
  : >"$STATE_DIR/$MARKER"
  ENV_LINES=("SERVERLESS_SERVERS_DIR=$STATE_DIR")

  # start all, then wait for each: the slow RabbitMQ boots while the others do
  has rabbitmq && start_rabbitmq
  has postgres && start_postgres
  has azurite && start_azurite
  has postgres && await_postgres
  has azurite && await_azurite
  has rabbitmq && await_rabbitmq

  local line
  {
    echo "# written by tests/servers.sh start; stop with: tests/servers.sh stop '$STATE_DIR'"
    for line in "${ENV_LINES[@]}"; do
      printf "export %s='%s'\n" "${line%%=*}" "${line#*=}"
    done
  } >"$STATE_DIR/env"
  STARTED=1
  log "all started in $(elapsed_since "$t0")s; env file: $STATE_DIR/env"
  cat "$STATE_DIR/env"
}

main() {
  local cmd=${1:-}
  shift || true
  case "$cmd" in
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    install)
      install_postgres
      install_rabbitmq
      install_azurite
      ;;
    *)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//' >&2
      exit 2
      ;;
  esac
}

main "$@"

#!/usr/bin/env bash
# `make run`: the whole local stack in the foreground — a throwaway PostgreSQL under .run/,
# redis-server and devkafka on loopback, and the four services. Ctrl-C or SIGTERM stops
# all of it and leaves no process or port behind.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
BIN="$PWD/$BUILD_DIR/bin"
RUN="$PWD/.run"
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
need_free_port() {
  if port_in_use "$1"; then
    echo "run: port $1 ($2) is taken; stop what uses it or set $3" >&2
    exit 1
  fi
}
random_key() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

PG_PORT=${SUNDESK_LOCAL_PG_PORT:-55432}
REDIS_PORT=${SUNDESK_LOCAL_REDIS_PORT:-56379}
declare -A GRPC_PORT=([ticket]=50051 [routing]=50052 [sla]=50053 [notification]=50054)
declare -A METRICS_PORT=([ticket]=9101 [routing]=9102 [sla]=9103 [notification]=9104)
SERVICES=(ticket routing sla notification)

need_free_port "$PG_PORT" PostgreSQL SUNDESK_LOCAL_PG_PORT
need_free_port "$REDIS_PORT" Redis SUNDESK_LOCAL_REDIS_PORT
for s in "${SERVICES[@]}"; do
  need_free_port "${GRPC_PORT[$s]}" "$s gRPC" "nothing (fixed local default)"
  need_free_port "${METRICS_PORT[$s]}" "$s metrics" "nothing (fixed local default)"
done

rm -rf "$RUN"
mkdir -p "$RUN/logs"
export SUNDESK_ADMIN_KEY=${SUNDESK_ADMIN_KEY:-$(random_key)}
export SUNDESK_SERVICE_KEY=${SUNDESK_SERVICE_KEY:-$(random_key)}
export SUNDESK_PAGE_TOKEN_KEY=${SUNDESK_PAGE_TOKEN_KEY:-$(random_key)}
printf '%s\n' "$SUNDESK_ADMIN_KEY" > "$RUN/admin.key"
chmod 600 "$RUN/admin.key"

pids=()
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

cleanup() {
  trap - INT TERM EXIT
  echo
  echo "run: stopping the local stack"
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  as_pg "$PG_BIN/pg_ctl" -D "$RUN/pg" -m fast stop >/dev/null 2>&1 || true
  wait 2>/dev/null || true
  echo "run: stopped"
}
trap 'cleanup; exit 0' INT TERM
trap cleanup EXIT

wait_until() {  # wait_until <what> <seconds> <command...>
  local what=$1 secs=$2; shift 2
  for _ in $(seq 1 $((secs * 10))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "run: $what did not come up within ${secs}s; see $RUN/logs" >&2
  return 1
}

# PostgreSQL: refuses to run as root, so its files belong to `postgres` when we are root.
mkdir -p "$RUN/pg" "$RUN/pgsock"
touch "$RUN/logs/postgres.log"
if [[ $(id -u) == 0 ]]; then
  chown postgres:postgres "$RUN/pg" "$RUN/pgsock" "$RUN/logs/postgres.log"
  chmod 755 "$RUN"
fi
as_pg "$PG_BIN/initdb" -D "$RUN/pg" -U sundesk --auth=trust -E UTF8 --locale=C >"$RUN/logs/initdb.log"
as_pg "$PG_BIN/pg_ctl" -D "$RUN/pg" -l "$RUN/logs/postgres.log" -w -o \
  "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $RUN/pgsock" start >/dev/null
as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U sundesk sundesk
PG_DSN="postgresql://sundesk@127.0.0.1:$PG_PORT/sundesk"

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  >"$RUN/logs/redis.log" 2>&1 &
pids+=($!)
wait_until Redis 10 redis-cli -p "$REDIS_PORT" ping

"$BIN/devkafka" --bootstrap-file="$RUN/kafka.bootstrap" --control-file="$RUN/kafka.control" \
  </dev/null >"$RUN/logs/devkafka.log" 2>&1 &
pids+=($!)
wait_until devkafka 20 test -s "$RUN/kafka.bootstrap"
KAFKA=$(cat "$RUN/kafka.bootstrap")

export SUNDESK_PG_DSN=$PG_DSN
export SUNDESK_KAFKA_BOOTSTRAP=$KAFKA
export SUNDESK_REDIS_ADDR=127.0.0.1:$REDIS_PORT
export SUNDESK_TICKET_ADDR=127.0.0.1:${GRPC_PORT[ticket]}
export SUNDESK_KAFKA_FETCH_WAIT=5ms  # devkafka answers a waiting fetch only at this timeout
export SUNDESK_WEBHOOK_ALLOW_LOOPBACK=true
# notification seals webhook secrets at rest; the database is fresh each run, so is the key.
export SUNDESK_WEBHOOK_SECRET_KEYS=${SUNDESK_WEBHOOK_SECRET_KEYS:-local:$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}
# notification's delivery, webhook, stream and email settings, given on its command line
# (routing has a --dispatch-interval of its own). Defaults as the service's; override with
# SUNDESK_LOCAL_NOTIFICATION_<NAME>, e.g. SUNDESK_LOCAL_NOTIFICATION_SMTP_URL=smtp://127.0.0.1:2525,
# or the service's own SUNDESK_<NAME> (which a command-line flag would otherwise override).
notification_flag() {  # <flag> <default>
  local name
  name=$(tr 'a-z-' 'A-Z_' <<<"$1")
  local mine="SUNDESK_LOCAL_NOTIFICATION_$name" service="SUNDESK_$name"
  printf -- '--%s=%s' "$1" "${!mine:-${!service:-$2}}"
}
NOTIFICATION_FLAGS=(
  "$(notification_flag delivery-attempts 8)"
  "$(notification_flag delivery-backoff 30s)"
  "$(notification_flag delivery-backoff-max 30m)"
  "$(notification_flag delivery-lease 2m)"
  "$(notification_flag dispatch-interval 200ms)"
  "$(notification_flag webhook-timeout 10s)"
  "$(notification_flag webhook-per-endpoint 16)"
  "$(notification_flag webhook-breaker-failures 5)"
  "$(notification_flag webhook-breaker-open 30s)"
  "$(notification_flag stream-buffer 64)"
  "$(notification_flag stream-retention 168h)"
  "$(notification_flag stream-slow-reader-timeout 10s)"
  "$(notification_flag smtp-url '')"
  "$(notification_flag smtp-from notifications@sundesk.local)"
  "$(notification_flag smtp-starttls false)"
)
for s in "${SERVICES[@]}"; do
  extra=()
  [[ $s == notification ]] && extra=("${NOTIFICATION_FLAGS[@]}")
  "$BIN/$s-server" --grpc-addr="127.0.0.1:${GRPC_PORT[$s]}" \
    --metrics-addr="127.0.0.1:${METRICS_PORT[$s]}" "${extra[@]}" >"$RUN/logs/$s.log" 2>&1 &
  pids+=($!)
done
for s in "${SERVICES[@]}"; do
  wait_until "$s" 60 "$BIN/deskctl" --addr="127.0.0.1:${GRPC_PORT[$s]}" health
done

cat <<MSG

sundesk local stack is up.

  service        gRPC               metrics
  ticket         127.0.0.1:${GRPC_PORT[ticket]}    http://127.0.0.1:${METRICS_PORT[ticket]}/metrics
  routing        127.0.0.1:${GRPC_PORT[routing]}    http://127.0.0.1:${METRICS_PORT[routing]}/metrics
  sla            127.0.0.1:${GRPC_PORT[sla]}    http://127.0.0.1:${METRICS_PORT[sla]}/metrics
  notification   127.0.0.1:${GRPC_PORT[notification]}    http://127.0.0.1:${METRICS_PORT[notification]}/metrics

  PostgreSQL     $PG_DSN
  Redis          127.0.0.1:$REDIS_PORT
  Kafka          $KAFKA   (also in .run/kafka.bootstrap)
  logs           .run/logs/

  admin key      $SUNDESK_ADMIN_KEY   (also in .run/admin.key)

Try:
  export SUNDESK_API_KEY=\$(cat .run/admin.key)
  $BUILD_DIR/bin/deskctl --addr 127.0.0.1:50051 list
  $BUILD_DIR/bin/deskctl --addr 127.0.0.1:50051 health
  kcat -L -b \$(cat .run/kafka.bootstrap)
  curl -s http://127.0.0.1:9101/metrics | grep grpc_server_

Ctrl-C stops everything.
MSG

# Foreground until a signal, or until any part dies (then everything stops).
set +e
wait -n "${pids[@]}"
echo "run: a process of the stack exited; see $RUN/logs" >&2
exit 1

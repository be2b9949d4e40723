#!/usr/bin/env bash
# Gate the Django example with the POSX harness, on its real stack, in one command:
#   Redis (the one running, or one started here), migrations, gunicorn, one Celery worker,
#   then `posx-harness run` (api mode: the example's STRIPE_API_BASE is the harness's
#   simulator), then everything this script started is stopped by its pid.
# Exits with the harness's code (0 pass, 1 a scenario failed, 2 usage, 3 unreachable, 4 not checked).
#
#   bash examples/posx-django/gate.sh                        # SQLite
#   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test bash examples/posx-django/gate.sh
#   POSX_VARIANT=guide bash examples/posx-django/gate.sh     # the guide's code: must fail
#   bash examples/posx-django/gate.sh -t recovery -v         # extra arguments go to posx-harness run
#   bash examples/posx-django/gate.sh load -t 20s -u 10      # a Locust run instead (posx-harness load,
#                                                            # MOCK_STRIPE=true; its arguments follow)
#
# Environment: POSX_PYTHON (default: the repo's .venv), CELERY_BROKER_URL (default
# redis://127.0.0.1:6379/0), DATABASE_URL, POSX_VARIANT, POSX_GATE_REPORT (keep the JSON
# report there), POSX_GATE_LOGS (copy the gunicorn/Celery logs into this folder),
# POSX_GATE_WEB_WORKERS (gunicorn workers, default 2).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PY="${POSX_PYTHON:-}"
if [ -z "$PY" ]; then
  if [ -x "$ROOT/.venv/bin/python" ]; then PY="$ROOT/.venv/bin/python"; else PY="$(command -v python3)"; fi
fi
BIN="$(dirname "$PY")"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/posx-django-gate.XXXXXX")"
PIDS=()
REDIS_PID=""
SCHEMA=""

say() { echo "gate: $*" >&2; }

stop_pids() {  # TERM them all, then KILL what has not gone within a few seconds
  local pid i alive
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for i in $(seq 1 80); do
    alive=""
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ -z "$alive" ] && return 0
    sleep 0.1
  done
  for pid in "$@"; do kill -KILL "$pid" 2>/dev/null || true; done
}

cleanup() {
  local pid
  if [ ${#PIDS[@]} -gt 0 ]; then stop_pids "${PIDS[@]}"; fi
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$REDIS_PID" ]; then stop_pids "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null || true; fi
  if [ -n "$SCHEMA" ]; then
    "$PY" - "$DATABASE_URL" "$SCHEMA" <<'PYEOF' || say "could not drop schema $SCHEMA"
import sys, psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as c:
    c.execute('DROP SCHEMA IF EXISTS "%s" CASCADE' % sys.argv[2])
PYEOF
  fi
  if [ -n "${POSX_GATE_LOGS:-}" ]; then mkdir -p "$POSX_GATE_LOGS" && cp "$WORK"/*.log "$POSX_GATE_LOGS"/ 2>/dev/null; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
redis_ok() { "$PY" -c 'import sys, redis; redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1).ping()' "$1" 2>/dev/null; }

wait_for() {  # wait_for SECONDS WHAT COMMAND...: poll a condition with a deadline
  local seconds=$1 what=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    if [ $SECONDS -ge $deadline ]; then say "$what did not come up within ${seconds}s"; return 1; fi
    sleep 0.2
  done
}

MODE=run
if [ "${1:-}" = "load" ]; then MODE=load; shift; fi

cd "$HERE"
PORT=$(free_port)
SIM_PORT=$(free_port)
export DJANGO_SETTINGS_MODULE=posx_site.settings_test
export PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}"
export STRIPE_WEBHOOK_SECRET="whsec_posx_django_gate_$("$PY" -c 'import secrets; print(secrets.token_hex(12))')"
export STRIPE_SECRET_KEY="${STRIPE_SECRET_KEY:-sk_test_posx_django_gate}"
export STRIPE_API_BASE="http://127.0.0.1:$SIM_PORT"
# The scenarios pay through the simulator (api mode); Locust signs its own events for
# orders whose intents the example makes locally.
if [ "$MODE" = load ]; then export MOCK_STRIPE=true POSX_HARNESS_CRASH_MODE=raise; else export MOCK_STRIPE=false; fi
export POSX_VARIANT="${POSX_VARIANT:-correct}"
export POSX_CELERY_QUEUE="posx-gate-$$-$RANDOM"      # a queue of its own: gates may run side by side
export POSX_CELERY_READY_FILE="$WORK/celery.ready"

# -- Redis -------------------------------------------------------------------------------
export CELERY_BROKER_URL="${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0}"
if ! redis_ok "$CELERY_BROKER_URL"; then
  command -v redis-server >/dev/null || { say "no Redis at $CELERY_BROKER_URL and no redis-server to start"; exit 2; }
  RPORT=$(free_port)
  redis-server --bind 127.0.0.1 --port "$RPORT" --save "" --appendonly no >"$WORK/redis.log" 2>&1 &
  REDIS_PID=$!
  export CELERY_BROKER_URL="redis://127.0.0.1:$RPORT/0"
  wait_for 10 "redis-server" redis_ok "$CELERY_BROKER_URL" || exit 2
  say "started redis-server (pid $REDIS_PID) on port $RPORT"
fi

# -- database ----------------------------------------------------------------------------
case "${DATABASE_URL:-}" in
  postgres://*|postgresql://*)
    SCHEMA="posx_django_gate_$$_$RANDOM"
    "$PY" - "$DATABASE_URL" "$SCHEMA" <<'PYEOF' || { say "cannot reach PostgreSQL at ${DATABASE_URL##*@}"; SCHEMA=""; exit 2; }
import sys, psycopg
with psycopg.connect(sys.argv[1], autocommit=True, connect_timeout=5) as c:
    c.execute('CREATE SCHEMA "%s"' % sys.argv[2])
PYEOF
    export POSX_DB_SCHEMA="$SCHEMA" ;;
  "") export DATABASE_URL="sqlite:///$WORK/posx.sqlite3" ;;
esac
"$PY" manage.py migrate --noinput -v0 || { say "migrate failed"; exit 2; }

# -- gunicorn and the Celery worker --------------------------------------------------------
"$BIN/gunicorn" posx_site.wsgi:application --bind "127.0.0.1:$PORT" --workers "${POSX_GATE_WEB_WORKERS:-2}" \
  --worker-class gthread --threads 4 --graceful-timeout 3 --log-level warning >"$WORK/gunicorn.log" 2>&1 &
PIDS+=($!)
"$BIN/celery" -A posx_site worker -Q "$POSX_CELERY_QUEUE" --pool threads --concurrency 2 \
  --without-heartbeat --without-gossip --without-mingle --loglevel INFO >"$WORK/celery.log" 2>&1 &
PIDS+=($!)
health() { "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "http://127.0.0.1:$PORT/health/" 2>/dev/null; }
wait_for 30 "gunicorn" health || { tail -20 "$WORK/gunicorn.log" >&2; exit 3; }
wait_for 30 "the Celery worker" test -s "$POSX_CELERY_READY_FILE" || { tail -20 "$WORK/celery.log" >&2; exit 3; }
say "POSX_VARIANT=$POSX_VARIANT, gunicorn (pid ${PIDS[0]}) on :$PORT, Celery worker (pid ${PIDS[1]}) on queue $POSX_CELERY_QUEUE, database ${DATABASE_URL##*@}${SCHEMA:+ schema $SCHEMA}"

# -- the gate ------------------------------------------------------------------------------
# No --profile: the harness finds the drop-in's /_posx/faults hooks by itself (the recovery
# scenarios would otherwise be "not checked", exit 4). The harness runs pytest; without DJANGO_SETTINGS_MODULE, pytest-django (installed for the
# pytest route) stays out of it instead of setting this project up in the harness's process.
if [ "$MODE" = load ]; then
  env -u DJANGO_SETTINGS_MODULE "$BIN/posx-harness" load --target "http://127.0.0.1:$PORT" --webhook-secret "$STRIPE_WEBHOOK_SECRET" \
    --api-token posx-test-token --tier-id tier_starter --site-code NA "$@"
  exit $?
fi
REPORT="${POSX_GATE_REPORT:-$WORK/report.json}"
env -u DJANGO_SETTINGS_MODULE "$BIN/posx-harness" run --target-url "http://127.0.0.1:$PORT" --sim-port "$SIM_PORT" \
  --webhook-secret "$STRIPE_WEBHOOK_SECRET" --api-token posx-test-token --tier tier_starter \
  --json-report "$REPORT" "$@"
CODE=$?
"$PY" "$HERE/gate_summary.py" "$REPORT"
exit $CODE

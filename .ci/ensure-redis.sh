#!/usr/bin/env bash
# Make sure a Redis server answers on 127.0.0.1:6379 (the Django example's Celery broker).
# This machine kind starts one before each session; elsewhere install it from the system's
# packages and start it. Exits non-zero (those tests then skip, saying why) if that fails.
set -uo pipefail
ready() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
command -v redis-cli >/dev/null 2>&1 && ready && exit 0
if ! command -v redis-server >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || exit 1
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) >/dev/null 2>&1 || exit 1
fi
mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
  --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null 2>&1 || exit 1
for _ in $(seq 1 30); do ready && exit 0; sleep 1; done
exit 1

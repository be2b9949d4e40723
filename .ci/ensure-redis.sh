#!/usr/bin/env bash
# Make sure the Django example's gate can have a Redis (its Celery broker): one answering on
# 127.0.0.1:6379, or at least the redis-server binary, which gate.sh starts on a free port
# when none answers. This machine kind runs one; elsewhere install it from the system's
# packages. Exits non-zero (the Django gate tests then skip, saying why) if that fails.
set -uo pipefail
if command -v redis-server >/dev/null 2>&1; then exit 0; fi
if command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) >/dev/null 2>&1 || exit 1
fi
command -v redis-server >/dev/null 2>&1

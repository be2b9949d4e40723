#!/usr/bin/env bash
# Make sure Debian's Chromium and its chromedriver are installed for the dashboard's
# browser test. Exits non-zero (the browser tests then skip, saying why) if that fails.
set -uo pipefail
have() { command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; }
if ! have && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) >/dev/null 2>&1
fi
have

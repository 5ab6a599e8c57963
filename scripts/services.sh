#!/usr/bin/env bash
# What the tests talk to, set up when missing: PostgreSQL and Redis started, Debian's HAProxy and Chromium installed
# (the report and console tests drive a real browser; never a browser download), and Arize Phoenix in a
# virtualenv of its own (the OpenTelemetry export tests send spans to it). `make test` runs this.
set -uo pipefail

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  for _ in $(seq 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432 || echo "warning: PostgreSQL is not answering; its tests will fail under CI" >&2

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  for _ in $(seq 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
fi
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || echo "warning: Redis is not answering" >&2

# Debian's HAProxy: the load balancer in front of the replicas (tests/haproxy.py, bench/bench_replicas.py).
if ! command -v haproxy >/dev/null 2>&1 && [ ! -x /usr/sbin/haproxy ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's haproxy"
    (apt-get update -qq && apt-get install -y -qq --no-install-recommends haproxy >/dev/null) \
      || echo "warning: could not install haproxy; the replica tests will fail" >&2
  else
    echo "warning: haproxy is missing: run 'apt-get install haproxy' as root" >&2
  fi
fi

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's chromium"
    (apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null) \
      || echo "warning: could not install chromium; the browser tests will fail (LOOPWRIGHT_SKIP_BROWSER=1 skips them)" >&2
  else
    echo "warning: chromium is missing: run 'apt-get install chromium' as root (LOOPWRIGHT_SKIP_BROWSER=1 skips the browser tests)" >&2
  fi
fi
# Phoenix pinned, in .venv-phoenix beside the project's venv: its ~150 packages stay out of loopwright's own.
PHOENIX_VERSION=20.26.1
if [ ! -x .venv-phoenix/bin/phoenix ]; then
  echo "installing Arize Phoenix $PHOENIX_VERSION into .venv-phoenix (a few minutes, once)"
  python3 -m venv .venv-phoenix
  # twice: a first install on a fresh machine has been seen to fail once, while apt was installing Chromium
  for attempt in 1 2; do
    .venv-phoenix/bin/pip install --quiet --disable-pip-version-check "arize-phoenix==$PHOENIX_VERSION" \
      > .venv-phoenix/install.log 2>&1 && break
    echo "Phoenix install attempt $attempt failed: $(grep -v '^WARNING' .venv-phoenix/install.log | tail -1)" >&2
  done
  [ -x .venv-phoenix/bin/phoenix ] \
    || echo "warning: could not install Arize Phoenix; the OpenTelemetry export tests will fail under CI" >&2
fi
exit 0

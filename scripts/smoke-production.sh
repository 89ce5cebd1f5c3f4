#!/usr/bin/env bash
# Production smoke test, run by `make test` (target test-production) after the PostgreSQL run.
#
# It follows the README section "Production on PostgreSQL" step by step: keep the two in sync.
# Differences are only what a test needs: a temporary database (unique name, dropped at the end),
# temporary STATIC_ROOT / MEDIA_ROOT / TILE_CACHE_DIR, a free port instead of 8000, a
# non-interactive createsuperuser, and requests sent as the HTTPS reverse proxy would send them
# (Host: map.example.jp, X-Forwarded-Proto: https).
#
# Usage: scripts/smoke-production.sh postgres://user@host:5432/any_name
# Without a reachable PostgreSQL it is skipped with a warning, except under CI=true (fails).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
pg_url="${1:?usage: scripts/smoke-production.sh POSTGRES_URL}"

rc=0
bash scripts/check-postgres.sh "$pg_url" || rc=$?
if [ "$rc" -eq 77 ]; then
  echo "WARNING: production smoke test skipped (no PostgreSQL)." >&2
  exit 0
elif [ "$rc" -ne 0 ]; then
  exit "$rc"
fi

db_name="rm_smoke_$(date +%s)_$$_${RANDOM}"
base_url="${pg_url%/*}"
work="$(mktemp -d -t rm-smoke-XXXXXX)"
gunicorn_pid=""

pg_admin() {  # run one statement on the server's maintenance database
  "$PY" - "$base_url/postgres" "$1" <<'PY'
import sys
import psycopg
with psycopg.connect(sys.argv[1], autocommit=True, connect_timeout=10) as conn:
    conn.execute(sys.argv[2])
PY
}

cleanup() {
  status=$?
  if [ -n "$gunicorn_pid" ] && kill -0 "$gunicorn_pid" 2>/dev/null; then
    kill -TERM "$gunicorn_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$gunicorn_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$gunicorn_pid" 2>/dev/null || true
  fi
  pg_admin "DROP DATABASE IF EXISTS \"$db_name\" WITH (FORCE)" || status=1
  if [ "$status" -ne 0 ] && [ -f "$work/gunicorn.log" ]; then
    echo "---- gunicorn log ----" >&2
    tail -n 80 "$work/gunicorn.log" >&2
  fi
  rm -rf "$work"
  if [ "$status" -ne 0 ]; then
    echo "ERROR: production smoke test FAILED." >&2
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pg_admin "CREATE DATABASE \"$db_name\""

# --- README "Production on PostgreSQL", step by step ----------------------------------------
# (The README's first line, `python3 -m venv .venv && .venv/bin/pip install .`, is `make install`.)
unset ALLOW_DEV_SECRET
export DEBUG=0 TESTING=0
export SECRET_KEY="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(50))')"
export ALLOWED_HOSTS=map.example.jp SITE_URL=https://map.example.jp \
       CSRF_TRUSTED_ORIGINS=https://map.example.jp \
       DATABASE_URL="$base_url/$db_name" \
       EMAIL_HOST=127.0.0.1 DEFAULT_FROM_EMAIL=zaitaku-map@example.jp
# Temporary locations instead of the defaults under the checkout.
export STATIC_ROOT="$work/static" MEDIA_ROOT="$work/media" TILE_CACHE_DIR="$work/tiles"

"$PY" manage.py check --deploy --fail-level WARNING
"$PY" manage.py migrate --noinput
"$PY" manage.py createcachetable
"$PY" manage.py load_reference
"$PY" manage.py collectstatic --noinput
DJANGO_SUPERUSER_PASSWORD="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(24))')" \
  "$PY" manage.py createsuperuser --noinput --username smoke-admin --email smoke@example.jp

port="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
.venv/bin/gunicorn resourcemap.wsgi --bind "127.0.0.1:$port" --workers 3 \
  --error-logfile "$work/gunicorn.log" --capture-output &
gunicorn_pid=$!
# The README's worker line; here it runs what is queued and exits (a unit would keep it running).
"$PY" manage.py worker --batch --verbosity 0
# --------------------------------------------------------------------------------------------

"$PY" scripts/smoke_http.py "http://127.0.0.1:$port" map.example.jp
echo "Production smoke test passed (database $db_name, gunicorn on port $port)."

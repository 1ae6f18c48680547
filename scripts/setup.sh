#!/usr/bin/env bash
# Installs and starts what Keyward needs on a Debian/Ubuntu machine, skipping whatever is there:
# PostgreSQL, RabbitMQ, the `keyward` database, its admin role and the six service roles.
# Idempotent: run it as often as you like (`make setup` does).
set -euo pipefail

cd "$(dirname "$0")/.."
CONFIG=${KEYWARD_CONFIG:-config/dev.toml}

say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[setup] error:\033[0m %s\n' "$*" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "run as root or install sudo"
  SUDO="sudo"
fi

# --- read the values we need from the config file (simple `key = "value"` lines) -------------
toml_get() { # section key
  awk -v sec="[$1]" -v key="$2" '
    /^\[/ { insec = ($0 == sec); next }
    insec && $1 == key { sub(/^[^=]*=[ \t]*"/, ""); sub(/".*$/, ""); print; exit }
  ' "$CONFIG"
}
[ -f "$CONFIG" ] || die "config file $CONFIG not found"
DB_URL=$(toml_get database url)
DB_NAME=${DB_URL##*/}
ADMIN_USER=$(toml_get database admin_user)
ADMIN_PASSWORD=${KEYWARD__DATABASE__ADMIN_PASSWORD:-$(toml_get database admin_password)}
[ -n "$DB_NAME" ] && [ -n "$ADMIN_USER" ] && [ -n "$ADMIN_PASSWORD" ] || die "database.url, admin_user and admin_password must be set in $CONFIG"

# --- install what is missing (all installs before any server starts) -------------------------
missing=()
installed() { dpkg -s "$1" >/dev/null 2>&1; }
if ! command -v psql >/dev/null || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  installed postgresql || missing+=(postgresql)
fi
if ! command -v rabbitmq-server >/dev/null; then
  installed rabbitmq-server || missing+=(rabbitmq-server)
fi
# The proxy's SDK tests need python3 with venv and pip.
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  installed python3-venv || missing+=(python3-venv)
  command -v python3 >/dev/null || missing+=(python3)
fi
# The TimescaleDB storage tests run PGlite under Node.js.
if ! command -v npm >/dev/null; then
  installed nodejs || missing+=(nodejs)
  installed npm || missing+=(npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || die "please install: ${missing[*]} (this script knows apt only)"
  say "installing ${missing[*]} (apt)"
  $SUDO apt-get update -qq
  # Debian starts neither server inside containers; we start them below.
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  say "postgresql, rabbitmq-server and python3-venv are installed"
fi

# --- start PostgreSQL -------------------------------------------------------------------------
pg_ready() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
if pg_ready; then
  say "postgresql is running"
else
  ver=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)
  [ -n "$ver" ] || die "no PostgreSQL cluster found under /etc/postgresql"
  say "starting postgresql $ver"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null || $SUDO pg_ctlcluster "$ver" main start
  for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
  pg_ready || die "postgresql did not start"
fi

# --- start RabbitMQ ---------------------------------------------------------------------------
rmq_ready() { $SUDO rabbitmqctl -q status >/dev/null 2>&1; }
if rmq_ready; then
  say "rabbitmq is running"
else
  say "starting rabbitmq"
  $SUDO rabbitmq-server -detached >/dev/null 2>&1 || true
  $SUDO rabbitmqctl -q await_startup --timeout 120 >/dev/null 2>&1 || die "rabbitmq did not start"
fi

# --- database, admin role, service roles ------------------------------------------------------
psql_su() {
  if [ "$(id -u)" -eq 0 ] && id postgres >/dev/null 2>&1; then
    runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 "$@"
  else
    $SUDO -u postgres psql -X -q -v ON_ERROR_STOP=1 "$@"
  fi
}
say "ensuring role $ADMIN_USER and database $DB_NAME"
psql_su -d postgres -v admin="$ADMIN_USER" -v pw="$ADMIN_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN SUPERUSER PASSWORD %L', :'admin', :'pw')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'admin') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN SUPERUSER PASSWORD %L', :'admin', :'pw') \gexec
SQL
if ! psql_su -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'" | grep -q 1; then
  psql_su -d postgres -c "CREATE DATABASE \"$DB_NAME\" OWNER \"$ADMIN_USER\""
fi
for svc in identity vault usage cost alert audit; do
  var="KEYWARD__DATABASE__PASSWORDS__$(echo "$svc" | tr a-z A-Z)"
  pw=${!var:-$(toml_get database.passwords "$svc")}
  [ -n "$pw" ] || die "database.passwords.$svc is not set in $CONFIG"
  psql_su -d postgres -v role="keyward_$svc" -v pw="$pw" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOINHERIT PASSWORD %L', :'role', :'pw')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SQL
done
say "ready: postgres://127.0.0.1:5432/$DB_NAME and amqp://127.0.0.1:5672"

#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on loopback for the test suite and print its URL.
# Usage: scripts/start-postgres.sh [DATA_DIR] [PORT]
# Installs nothing: .ci/run installs the Debian `postgresql` package first.
set -euo pipefail
data_dir="${1:-/tmp/goperf-scaffold-pg}"
port="${2:-55432}"
bin_dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
if [[ -z "$bin_dir" ]]; then
  echo "start-postgres: no PostgreSQL server found under /usr/lib/postgresql (apt-get install -y postgresql)" >&2
  exit 1
fi
run_as_postgres() {
  if [[ "$(id -u)" == "0" ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}
if [[ "$(id -u)" == "0" ]] && ! id postgres >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi
if [[ ! -f "$data_dir/PG_VERSION" ]]; then
  mkdir -p "$data_dir"
  [[ "$(id -u)" == "0" ]] && chown postgres "$data_dir"
  run_as_postgres "$bin_dir/initdb" -D "$data_dir" -U postgres --auth=trust -E UTF8 >/dev/null
fi
if ! run_as_postgres "$bin_dir/pg_ctl" -D "$data_dir" status >/dev/null 2>&1; then
  run_as_postgres "$bin_dir/pg_ctl" -D "$data_dir" -l "$data_dir/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$data_dir -c max_connections=200 -c fsync=on" start >/dev/null
fi
echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"

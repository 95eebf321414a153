#!/usr/bin/env bash
# Install everything the test suite needs, from nothing, and run it.
#   bash scripts/test.sh [pytest args...]
# Installs: the package with its test extras (in .venv), golangci-lint (Go module proxy),
# PostgreSQL, wrk and Prometheus (Debian packages, when missing and running as root); starts a
# throwaway PostgreSQL server on 127.0.0.1 for the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

GOLANGCI_LINT_VERSION=v2.15.0
ACTIONLINT_VERSION=v1.7.12

if ! command -v go >/dev/null 2>&1; then
  echo "scripts/test.sh: Go is required (go.dev/dl); the tests build the generated services" >&2
  exit 1
fi

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
    echo "--- installing PostgreSQL (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
  else
    echo "scripts/test.sh: PostgreSQL server binaries not found; install the postgresql package" >&2
    exit 1
  fi
fi

# wrk: the HTTP load generator of the benchmark report, whose quick mode the suite runs
# (tests/test_bench_report.py; without wrk the report falls back to the project's loadgen).
if ! command -v wrk >/dev/null 2>&1; then
  if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
    echo "--- installing wrk (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq wrk >/dev/null
  else
    echo "scripts/test.sh: wrk not found; the benchmark report uses the project's loadgen instead" >&2
  fi
fi

# Node.js and npm: tests/test_renovate.py installs Renovate's renovate-config-validator (npm
# package renovate@39, which needs Node ^20.15.1 or ^22.11.0) once into
# ~/.cache/goperf-scaffold-test/ and fails in CI without them.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "scripts/test.sh: node/npm not found; tests/test_renovate.py needs Node.js 20.15+ with npm" >&2
fi

# Prometheus (and its promtool) for the observability tests, which run their own server on a
# free loopback port with their own config and data directory. The package's own service must
# not stay on :9090, where it would scrape nothing of ours and hold the port.
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
  if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
    echo "--- installing Prometheus (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends prometheus >/dev/null
    if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
      systemctl disable --now prometheus >/dev/null 2>&1 || true
    fi
    service prometheus stop >/dev/null 2>&1 || true
  else
    echo "scripts/test.sh: prometheus and promtool not found; install the prometheus package" >&2
    exit 1
  fi
fi

echo "--- installing the package and its test extras into .venv"
[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'

GOBIN="$(go env GOPATH)/bin"
export PATH="$GOBIN:$PATH"
if ! golangci-lint version 2>/dev/null | grep -q "${GOLANGCI_LINT_VERSION#v}"; then
  echo "--- installing golangci-lint $GOLANGCI_LINT_VERSION (go install)"
  GOTOOLCHAIN=local go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$GOLANGCI_LINT_VERSION"
fi

if ! actionlint -version 2>/dev/null | grep -q "${ACTIONLINT_VERSION#v}"; then
  echo "--- installing actionlint $ACTIONLINT_VERSION (go install)"
  GOTOOLCHAIN=local go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
fi

# In CI every tool a test needs must be here now, not found missing twenty minutes into the run
# (the tests fail rather than skip in CI; this says it at once, all together).
if [[ "${CI:-}" == "true" ]]; then
  missing=()
  for tool in go git make wrk node npm prometheus promtool golangci-lint actionlint runuser mount; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=("PostgreSQL server (initdb)")
  if (( ${#missing[@]} )); then
    echo "scripts/test.sh: missing in CI: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "--- starting PostgreSQL on loopback"
TEST_POSTGRES_URL="$(scripts/start-postgres.sh)"
export TEST_POSTGRES_URL

echo "--- static checks of the Python package"
.venv/bin/ruff check scaffolder hooks tests scripts bench
.venv/bin/ruff format --check scaffolder hooks tests scripts bench
.venv/bin/mypy

echo "--- test suite"
exec .venv/bin/pytest --durations=30 "$@"

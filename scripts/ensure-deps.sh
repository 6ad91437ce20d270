#!/usr/bin/env bash
# Installs the system packages the service needs, when missing: PostgreSQL server
# binaries (the service's embedded default and the tests' throwaway clusters start
# them as the `postgres` user). With `--test`, also Chromium and chromedriver for the
# review UI's browser tests (scripts/test.sh passes it), and schemathesis (pinned, in
# its own venv) for the API contract test (tests/api/contract.rs). Safe to run
# repeatedly.
set -euo pipefail

for_tests=0
[ "${1:-}" = "--test" ] && for_tests=1

have_pg_server() {
  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || command -v postgres >/dev/null 2>&1
}

apt_updated=0
apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing packages: $*; install them with: sudo apt-get install -y $*" >&2
    exit 1
  fi
  if [ "$apt_updated" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! have_pg_server; then
  echo "== installing PostgreSQL server binaries"
  apt_install postgresql postgresql-contrib
fi

# Headless Chromium and its WebDriver for the review UI's browser tests (tests/ui).
if [ "$for_tests" -eq 1 ] && { [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; }; then
  echo "== installing Chromium and chromedriver (browser tests)"
  apt_install chromium chromium-driver
fi

# Schemathesis for the API contract test (tests/api/contract.rs reads this path).
SCHEMATHESIS_VERSION=4.32.5
SCHEMATHESIS_VENV=/opt/event-dedup-tools/schemathesis-$SCHEMATHESIS_VERSION
if [ "$for_tests" -eq 1 ] && [ ! -x "$SCHEMATHESIS_VENV/bin/schemathesis" ]; then
  echo "== installing schemathesis $SCHEMATHESIS_VERSION (API contract test)"
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    apt_install python3 python3-venv
  fi
  if [ "$(id -u)" -ne 0 ] && [ ! -w "$(dirname "$SCHEMATHESIS_VENV")" ]; then
    echo "cannot create $SCHEMATHESIS_VENV; run this script as root" >&2
    exit 1
  fi
  rm -rf "$SCHEMATHESIS_VENV"
  python3 -m venv "$SCHEMATHESIS_VENV"
  "$SCHEMATHESIS_VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine that has only the Rust toolchain.
#
# Installs what the tests need when it is missing (PostgreSQL server binaries for the
# tests that use a throwaway cluster, Chromium and chromedriver for the review UI's
# browser tests), then enforces formatting and lints and runs every test. `.ci/run`
# calls exactly this script.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-deps.sh --test

echo "== cargo fmt --check"
cargo fmt --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --all-targets --locked

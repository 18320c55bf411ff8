#!/usr/bin/env bash
# Every test on a fresh machine: set up (idempotent), then format, lint and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "[test] cargo fmt --check" >&2
cargo fmt --check
echo "[test] cargo clippy --release --all-targets -- -D warnings" >&2
cargo clippy --release --locked --all-targets -- -D warnings
echo "[test] cargo test --release" >&2
cargo test --release --locked

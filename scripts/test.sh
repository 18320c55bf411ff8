#!/usr/bin/env bash
# Every test on a fresh machine: set up (idempotent), Chromium for the browser test, then format,
# lint and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The browser tests open pages in headless Chromium and drive the review workspace through
# chromium-driver (WebDriver), both Debian packages; without them those tests skip with a message.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[test] installing Debian's chromium and chromium-driver for the browser tests" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >&2 ||
      { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >&2; } ||
      echo "[test] chromium could not be installed; the browser tests will skip" >&2
  else
    echo "[test] chromium or chromedriver not found and not root; the browser tests will skip" >&2
  fi
fi
echo "[test] cargo fmt --check" >&2
cargo fmt --check
echo "[test] cargo clippy --release --all-targets -- -D warnings" >&2
cargo clippy --release --locked --all-targets -- -D warnings
echo "[test] cargo test --release" >&2
cargo test --release --locked

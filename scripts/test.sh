#!/usr/bin/env bash
# README command 2: every check and every test.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
step() { echo "== $* ($(date +%s))"; }
step "format"
cargo fmt --all -- --check
step "lint"
cargo clippy --quiet --workspace --all-targets -- -D warnings
step "tests"
cargo test --workspace
step "README hello"
bash scripts/hello.sh | tee /tmp/rules_mirage-hello.out
test "$(grep -c '\[INFO\] \[application\] hello$' /tmp/rules_mirage-hello.out)" -eq 4
echo "1 passed, 0 failed: README hello"

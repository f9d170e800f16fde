#!/usr/bin/env bash
# README command 2: every check and every test.
set -euo pipefail
cd "$(dirname "$0")/.."
SETUP_BAZEL=1 SETUP_PEERS=1 source scripts/setup.sh
step() { echo "== $* ($(date +%s))"; }
step "test certificate"
# static_website_tls's certificate (git holds no private key).
scripts/certs.sh examples/static_website/tls
step "format"
cargo fmt --all -- --check
step "lint"
cargo clippy --quiet --workspace --all-targets -- -D warnings
step "bazel test //..."
# Bazel vendors Cargo.lock's crates offline, from cargo's registry cache.
cargo fetch --locked --quiet
# Boot every time: a test result from the disk cache proves nothing here.
bazel test --nocache_test_results //...
step "tests"
# The hvt test says which path it took (full suite or smoke) and why: show it.
# Every test binary runs even when one fails: one CI run shows every failure.
cargo test --workspace --no-fail-fast -- --skip solo5::hvt_boots_where_kvm_allows
cargo test -p mirage --test e2e solo5::hvt_boots_where_kvm_allows -- --nocapture
step "README hello"
bash scripts/hello.sh | tee /tmp/rules_mirage-hello.out
test "$(grep -c '\[INFO\] \[application\] hello$' /tmp/rules_mirage-hello.out)" -eq 4
grep -q '^Solo5: solo5_exit(0) called$' /tmp/rules_mirage-hello.out
echo "readme-hello: 1 passed, 0 failed"

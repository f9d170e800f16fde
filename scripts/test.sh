#!/usr/bin/env bash
# README command 2: every check and every test, then a table of how long
# each step took. `--quick`: the contributor's tier (format, lint, unit
# tests, the command-line cases, one boot per target family that boots
# here: unix, spt, virtio), a few minutes on a warm machine.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
case "${1:-}" in
    --quick) quick=1 ;;
    "") ;;
    *)
        echo "test.sh: unknown option '$1' (give --quick, or nothing for every test)" >&2
        exit 2
        ;;
esac

# Tests that could not make their check here append a SKIPPED line to
# this file (tests/e2e/support.rs); the closing line counts them.
export MIRAGE_SKIPPED="${TMPDIR:-/tmp}/rules_mirage-skipped.$$"
: > "$MIRAGE_SKIPPED"
# Every test step's output, kept so the closing report can repeat what
# failed where a reader of a long log looks: at its end.
steps_log="${TMPDIR:-/tmp}/rules_mirage-steps.$$"
: > "$steps_log"
names=()
seconds=()
failed=()
current=""
begun=$(date +%s)
since=$begun
finish() {
    if [ -n "$current" ]; then
        names+=("$current")
        seconds+=($(($(date +%s) - since)))
        current=""
    fi
}
step() {
    finish
    current="$*"
    since=$(date +%s)
    echo "== $* ($(date -u +%H:%M:%S))"
}
# A test step that fails is reported at the end; the others still run, so
# one run shows every failure.
check() {
    "$@" 2>&1 | tee -a "$steps_log" || failed+=("$current")
}
# Each failing Rust test's panic and the lines after it, and Bazel's
# errors, at most 45 lines in all (the full text is above).
failures() {
    awk '
        /^---- .* stdout ----$/ { name = $2; after = -1; next }
        /^failures:$/ { name = "" }
        name != "" && /panicked at/ { print "-- " name; after = 0 }
        /^stack backtrace:$|^note: run with `RUST_BACKTRACE/ { after = -1 }
        name != "" && after >= 0 && after < 12 { print "   " $0; after++; next }
        /^ERROR: |^FAIL: / { print }
    ' "$steps_log" | head -n 45
}
report() {
    local rc=$?
    finish
    if ((${#failed[@]})); then
        echo "== what failed, in short"
        failures
    fi
    rm -f "$steps_log"
    echo "== durations"
    for i in "${!names[@]}"; do
        printf '%6d s  %s\n' "${seconds[$i]}" "${names[$i]}"
    done
    local skips
    skips=$(sort -u "$MIRAGE_SKIPPED" | grep -c . || true)
    sort -u "$MIRAGE_SKIPPED"
    rm -f "$MIRAGE_SKIPPED"
    printf '%6d s  total' $(($(date +%s) - begun))
    if [ "$rc" -eq 0 ]; then echo ", passed, $skips skipped"; else echo ", failed (exit $rc), $skips skipped"; fi
}
trap report EXIT

step "setup"
if [ "$quick" = 1 ]; then
    source scripts/setup.sh
else
    SETUP_BAZEL=1 SETUP_PEERS=1 source scripts/setup.sh
fi
step "test certificate"
# static_website_tls's certificate (git holds no private key).
scripts/certs.sh examples/static_website/tls
step "format"
cargo fmt --all -- --check
step "lint"
cargo clippy --quiet --workspace --all-targets -- -D warnings
step "unit tests"
# The Solo5 runtimes link only into an image (their Cargo.toml says
# test = false, which an explicit --lib overrides).
check cargo test --quiet --workspace --lib --bins --no-fail-fast \
    --exclude mirage-solo5 --exclude mirage-solo5-mem

if [ "$quick" = 1 ]; then
    step "command-line cases and a boot per target family"
    check cargo test -p mirage --test e2e -- cases:: \
        examples_unix::hello_logs_hello_four_times_a_second_apart \
        solo5::examples_boot_on_spt solo5::examples_boot_on_virtio
else
    step "bazel test //..."
    # Bazel vendors Cargo.lock's crates offline, from cargo's registry cache.
    cargo fetch --locked --quiet
    # Boot every time: a test result from the disk cache proves nothing here.
    check bazel test --nocache_test_results //...
    step "end-to-end tests"
    # Three at a time on two cores: the tests spend much of their time
    # waiting on tenders, peers and networks (two at a time kept the
    # cores 81% busy on a fresh machine).
    # The hvt test boots every example where this host's KVM can; where
    # it cannot, its SKIPPED line (listed at the end) says why and what it
    # checked instead.
    check cargo test --workspace --no-fail-fast --test '*' -- --test-threads=3
    step "doc tests"
    check cargo test --quiet --workspace --doc
    step "README hello"
    bash scripts/hello.sh | tee /tmp/rules_mirage-hello.out
    test "$(grep -c '\[INFO\] \[application\] hello$' /tmp/rules_mirage-hello.out)" -eq 4
    grep -q '^Solo5: solo5_exit(0) called$' /tmp/rules_mirage-hello.out
    echo "readme-hello: 1 passed, 0 failed"
fi
finish
if ((${#failed[@]})); then
    echo "test.sh: failed: ${failed[*]}" >&2
    exit 1
fi

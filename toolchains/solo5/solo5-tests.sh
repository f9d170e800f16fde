#!/usr/bin/env bash
# Solo5's own tests (tests/tests.bats, run by the bats it bundles) against
# a built toolchain: DIR is its cache directory (the patched sources, built),
# then the targets whose tests run (spt, hvt, virtio). They run on a copy
# (the cache is never written), in a network namespace of their own with
# the taps tests.bats expects (tap100 at 10.0.0.1/24, tap101 at
# 10.1.0.1/24). Needs root. Prints bats's TAP report; exits 1 when a test
# failed, 2 on a usage mistake.
set -euo pipefail
if [ $# -lt 2 ] || [ ! -f "$1/tests/tests.bats" ]; then
    echo "usage: solo5-tests.sh TOOLCHAIN_DIR TARGET... (a built toolchain: ~/.cache/rules_mirage/solo5-*)" >&2
    exit 2
fi
dir="$1"
shift
work="$(mktemp -d)"
ns="mirage-solo5-tests-$$"
cleanup() {
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
cp -r "$dir/tests" "$dir/tenders" "$dir/scripts" "$dir/Makeconf.sh" "$work/"
# The tests of the given targets: tests.bats's blocks named "... TARGET".
targets="$(IFS='|'; echo "$*")"
awk -v wanted="^@test \".* ($targets)\" [{]" '
/^@test / { inside = 1; keep = ($0 ~ wanted) }
!inside || keep { print }
inside && /^}/ { inside = 0 }
' "$work/tests/tests.bats" > "$work/tests/selected.bats"
ip netns add "$ns"
ip -n "$ns" link set lo up
for i in 0 1; do
    ip -n "$ns" tuntap add "tap10$i" mode tap
    ip -n "$ns" addr add "10.$i.0.1/24" dev "tap10$i"
    ip -n "$ns" link set "tap10$i" up
done
ip netns exec "$ns" "$work/tests/bats-core/bats" -t "$work/tests/selected.bats"

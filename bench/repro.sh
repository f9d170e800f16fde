#!/usr/bin/env bash
# The reproducibility matrix: every example's unikernels on every target,
# built in two checkouts in different directories, with different cargo
# homes and target directories; prints a table of sha256 matches.
# The CARGO_HOME of checkout B links to the same registry under another
# path, so a leaked path shows as a difference.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
source bench/cli.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
home=${CARGO_HOME:-$HOME/.cargo}
for side in a b; do
    mkdir -p "$work/$side/src" "$work/$side/cargo-home"
    git ls-files -z | tar --null -cf - -T - | tar -xf - -C "$work/$side/src"
    scripts/certs.sh "$work/$side/src/examples/static_website/tls" >/dev/null
    ln -s "$home/registry" "$work/$side/cargo-home/registry"
done
# One certificate for both, so the TLS site may compare too.
cp "$work/a/src/examples/static_website/tls/"* "$work/b/src/examples/static_website/tls/"
labels=(
    //examples/noop:noop //examples/hello:hello //examples/hello-key:hello_key
    //examples/choice:choice //examples/block:block //examples/kv_ro:kv_ro
    //examples/network:network //examples/echo:echo
    //examples/static_website:static_website //examples/static_website:static_website_tls
)
targets=(unix spt hvt virtio muen xen qubes)
printf '%-46s' "unikernel"; printf '%-8s' "${targets[@]}"; echo
same=0; total=0
for label in "${labels[@]}"; do
    printf '%-46s' "$label"
    for t in "${targets[@]}"; do
        sums=()
        for side in a b; do
            out=$(cd "$work/$side/src" && CARGO_HOME="$work/$side/cargo-home" \
                CARGO_TARGET_DIR="$work/$side/target" "$MIRAGE" build -t "$t" "$label" 2>/dev/null | tail -1) || out=""
            case $out in /*) ;; ?*) out="$work/$side/src/$out" ;; esac
            sums+=("$( [ -n "$out" ] && sha256sum "$out" 2>/dev/null | cut -c1-64 || echo none)")
        done
        total=$((total + 1))
        if [ "${sums[0]}" = none ]; then
            printf '%-8s' "fail"
        elif [ "${sums[0]}" = "${sums[1]}" ]; then
            printf '%-8s' "same"; same=$((same + 1))
        else
            printf '%-8s' "DIFF"
        fi
    done
    echo
done
echo "identical: $same of $total images (two checkouts, two cargo homes, two target directories)"

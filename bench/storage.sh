#!/usr/bin/env bash
# kv_ro on spt: `get` throughput of a 10 MB value, crunch (in the image)
# against tar on a block device; and how the image grows with crunched
# content.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --quiet --release -p mirage
MIRAGE="$CARGO_TARGET_DIR/release/mirage"
home=$PWD
ws=$(mktemp -d)
trap 'rm -rf "$ws"' EXIT
echo 'workspace(name = "bench")' > "$ws/WORKSPACE.bazel"
mkdir -p "$ws/app/src" "$ws/app/data" "$ws/app/scratch"
cp tests/kv_exact/app/src/lib.rs "$ws/app/src/"
for f in BUILD.bazel Cargo.toml; do
    sed "s|@RULES_MIRAGE@|$home|g" "tests/kv_exact/app/$f.in" > "$ws/app/$f"
done
run() { (cd "$ws" && "$MIRAGE" --rules-mirage "$home" "$@" 2>/dev/null); }
size() { strip -o "$ws/stripped" "$1" && stat -c %s "$ws/stripped"; }

echo small > "$ws/app/data/small.txt"
base=$(size "$(run build -t spt //app:app --kv_ro=crunch | tail -1)")
head -c 10485760 /dev/urandom > "$ws/app/data/big.bin"
grown=$(size "$(run build -t spt //app:app --kv_ro=crunch | tail -1)")
echo "image size, crunch, spt: $base bytes with 6 B of content, $grown bytes with 10 MiB more ($(( (grown - base) * 100 / 10485760 ))% of the content's size)"

for kv in crunch tar; do
    line=$(run run -t spt //app:app --kv_ro=$kv -- --repeat=50 | grep THROUGHPUT)
    echo "get throughput, $kv on spt: ${line#THROUGHPUT }"
done

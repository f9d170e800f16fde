#!/usr/bin/env bash
# A persistent kv_rw against its peers, in one run on one file system:
# chamelon itself on a host file (generator/benches/kv_rw.rs: the store
# the images run, over `mirage disk`'s block device, no HTTP), the notes
# example on spt (chamelon on a 4 MiB disk, a flush at every commit,
# reached over HTTP keep-alive on a tap), against SQLite (one table,
# synchronous=FULL, one transaction per set) and littlefs-python (the
# reference C littlefs, same geometry, fdatasync at each sync) on host
# files. N (default 300) sets of 4 KiB values, then N gets. Prints sets/s,
# gets/s, bytes written per set (write amplification; the kernel's count
# for each process) and the ratios to SQLite. The notes figures include an
# HTTP round trip per operation; the others' do not.
# Goal (issue 26): sets/s at least 0.5x SQLite's, gets/s at least 1x.
# Only a namespace and processes made here are used, stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
SETUP_PEERS=1 source scripts/setup.sh
N=${N:-300}
source bench/cli.sh
NS=mirage-kvrw
mkdir -p mirage-out
work=$(mktemp -d "$PWD/mirage-out/kvrw.XXXXXX")
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    ip netns del $NS 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

"$MIRAGE" build -t spt //examples/notes:notes >/dev/null
disk=mirage-out/examples/notes/notes/spt/disks/storage.img
size=$(stat -c %s $disk)
truncate -s 0 $disk && truncate -s "$size" $disk

ip netns add $NS
ip -n $NS link set lo up
ip -n $NS tuntap add tap0 mode tap
ip -n $NS addr add 10.0.0.1/24 dev tap0
ip -n $NS link set tap0 up
ip netns exec $NS "$MIRAGE" run -t spt //examples/notes:notes --tap service=tap0 \
    -- --http-port=8080 --format > "$work/notes.log" 2>&1 &
pids+=($!)
for _ in $(seq 600); do grep -q "listening on port 8080" "$work/notes.log" && break; sleep 0.05; done
tender=$(ps -o pid= --ppid "${pids[0]}" | head -1 | tr -d ' ')

notes=$(ip netns exec $NS python3 bench/kv_rw.py notes http://10.0.0.2:8080/notes "$N" "$tender")
# The peers' files on the same file system as the unikernel's disk.
sqlite=$(python3 bench/kv_rw.py sqlite "$work/kv.sqlite" "$N")
truncate -s "$size" "$work/lfs.img"
lfs=$(python3 bench/kv_rw.py littlefs "$work/lfs.img" "$N")
store=$(cargo bench --quiet -p mirage --bench kv_rw -- "$work" "$N" 2>/dev/null | tail -1)

echo "kv_rw, $N sets then $N gets of 4 KiB values, durable at every set"
printf '%-10s %10s %10s %16s\n' store sets/s gets/s bytes/set
for line in "$store" "$notes" "$sqlite" "$lfs"; do
    # shellcheck disable=SC2086
    printf '%-10s %10s %10s %16s\n' $line
done
read -r _ ss sg sb <<< "$sqlite"
for line in "$store" "$notes"; do
    read -r name xs xg xb <<< "$line"
    awk -v n="$name" -v xs="$xs" -v xg="$xg" -v xb="$xb" -v ss="$ss" -v sg="$sg" -v sb="$sb" 'BEGIN {
        printf "%s/SQLite: sets %.2fx (goal 0.5x), gets %.2fx (goal 1x), bytes per set %.2fx\n",
            n, xs / ss, xg / sg, xb / sb }'
done

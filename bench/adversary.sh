#!/usr/bin/env bash
# Long attacks on the static_website_tls unikernel on spt (direct stack,
# over a tap in a namespace), each ATTACK_SECONDS (default 120; the CI
# suite, tests/e2e/adversary.rs, runs them for at most 30 s): slowloris and
# slow read (slowhttptest) over HTTP and HTTPS, an hping3 SYN flood from
# random addresses, a flood of 20,000 connections at once from one peer
# (its ephemeral ports allow no more), and an endless chunk extension. During each, a
# fresh client from another address (10.0.0.3) fetches the home page once
# a second. Prints per attack: fresh requests served and failed, the
# slowest, and the heap in use the image last reported (-l tcpip:debug).
# Only namespaces and processes made here are used, stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
SETUP_PEERS=1 source scripts/setup.sh
seconds=${ATTACK_SECONDS:-120}
source bench/cli.sh
bash scripts/certs.sh examples/static_website/tls >/dev/null
NS=mirage-adversary
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    ip netns del $NS 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

ip netns add $NS
ip -n $NS link set lo up
ip -n $NS tuntap add tap0 mode tap
ip -n $NS addr add 10.0.0.1/24 dev tap0
ip -n $NS addr add 10.0.0.3/24 dev tap0
ip -n $NS link set tap0 up

"$MIRAGE" build -t spt //examples/static_website:static_website_tls >/dev/null
# mirage run forwards our SIGTERM to the tender.
ip netns exec $NS "$MIRAGE" run -t spt //examples/static_website:static_website_tls \
    --tap service=tap0 -- --http-port=8080 --https-port=8443 -l '*:info,tcpip:debug' \
    > "$work/unikernel.log" 2>&1 &
pids+=($!)
for _ in $(seq 600); do grep -q "listening on port 8443" "$work/unikernel.log" && break; sleep 0.05; done

# One attack: runs "$@" in the namespace for $seconds while a fresh client
# probes once a second; prints one row.
attack() {
    local name=$1
    shift
    ip netns exec $NS "$@" > "$work/attack.log" 2>&1 &
    local pid=$!
    local ok=0 bad=0 worst=0
    sleep 2
    for _ in $(seq $((seconds - 2))); do
        local t
        if t=$(ip netns exec $NS curl -s -o /dev/null --max-time 2 --interface 10.0.0.3 \
            --cacert examples/static_website/tls/ca.pem -w '%{time_total}' https://10.0.0.2:8443/); then
            ok=$((ok + 1))
            worst=$(python3 -c "print(max($worst, $t))")
        else
            bad=$((bad + 1))
        fi
        sleep 1
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    local heap
    heap=$(grep -o 'heap in use: [0-9]*' "$work/unikernel.log" | tail -1 | grep -o '[0-9]*$' || echo "?")
    printf '| %s | %d | %d | %.0f ms | %s |\n' "$name" "$ok" "$bad" "$(python3 -c "print($worst * 1000)")" "$heap"
}

echo "attacks of $seconds s each on static_website_tls (spt); a fresh HTTPS client from 10.0.0.3 once a second"
echo "| attack | fresh served | fresh failed | slowest fresh | heap in use after (bytes) |"
echo "|---|---|---|---|---|"
attack "slowloris, HTTP, 1000 connections" slowhttptest -H -c 1000 -r 200 -i 5 -l "$seconds" -u http://10.0.0.2:8080/
attack "slowloris, HTTPS, 1000 connections" slowhttptest -H -c 1000 -r 200 -i 5 -l "$seconds" -u https://10.0.0.2:8443/
attack "slow read, HTTP, 1000 connections" slowhttptest -X -c 1000 -r 200 -w 1 -y 16 -n 3 -z 16 -l "$seconds" -u http://10.0.0.2:8080/logo.png
attack "SYN flood, random sources, 10,000/s" hping3 -q -S -p 8443 -i u100 --rand-source 10.0.0.2
attack "connection flood, one peer, 20,000 at once" python3 tests/e2e/adversary.py flood 10.0.0.2 8443 20000 "$seconds"
attack "endless chunk extension" python3 tests/e2e/adversary.py chunk-extension 10.0.0.2 8080

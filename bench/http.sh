#!/usr/bin/env bash
# HTTP requests/s and latency: wrk (1 thread, 32 keep-alive connections,
# 10 s) against the static_website unikernel on spt (direct stack, over a
# tap in a namespace) and against nginx (1 worker, the same files) in a
# namespace of its own over a veth. Prints each and the ratio.
# Goal (issue 13): at least 50% of nginx's requests/s on the small page.
# Only namespaces and processes made here are used, stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
for tool in wrk nginx; do
    command -v $tool >/dev/null 2>&1 || { echo "bench: installing $tool"; apt-get install -y -qq $tool >/dev/null; }
done
cargo build --quiet --release -p mirage
MIRAGE="$CARGO_TARGET_DIR/release/mirage"
"$MIRAGE" build -t spt //examples/static_website:static_website >/dev/null 2>&1
U=mirage-http-u; A=mirage-http-a; B=mirage-http-b
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for ns in $U $A $B; do ip netns del $ns 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
for ns in $U $A $B; do ip netns add $ns; ip -n $ns link set lo up; done
ip -n $U tuntap add tap0 mode tap
ip -n $U addr add 10.0.0.1/24 dev tap0
ip -n $U link set tap0 up
ip link add veth-a netns $A type veth peer name veth-b netns $B
ip -n $A addr add 10.0.1.1/24 dev veth-a; ip -n $A link set veth-a up
ip -n $B addr add 10.0.1.2/24 dev veth-b; ip -n $B link set veth-b up

# The unikernel: mirage run forwards our SIGTERM to the tender.
ip netns exec $U "$MIRAGE" run -t spt //examples/static_website:static_website \
    --tap service=tap0 -- --http-port=8080 > "$work/unikernel.log" 2>&1 &
pids+=($!)
for _ in $(seq 600); do grep -q "listening on port 8080" "$work/unikernel.log" && break; sleep 0.05; done

# nginx: one worker, the same files, its own temporary prefix.
cp -r examples/static_website/htdocs "$work/htdocs"
cat > "$work/nginx.conf" <<EOF
daemon off;
worker_processes 1;
user root;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    include /etc/nginx/mime.types;
    client_body_temp_path $work/body;
    proxy_temp_path $work/proxy;
    fastcgi_temp_path $work/fastcgi;
    uwsgi_temp_path $work/uwsgi;
    scgi_temp_path $work/scgi;
    server { listen 10.0.1.2:8080; root $work/htdocs; }
}
EOF
ip netns exec $B nginx -c "$work/nginx.conf" -p "$work" &
pids+=($!)
sleep 1

# wrk's requests/s, p50 and p99 latency against URL from namespace NS.
measure() {
    local ns=$1 url=$2
    ip netns exec "$ns" wrk -t1 -c32 -d10s --latency "$url" > "$work/wrk.txt"
    if grep -q "Non-2xx" "$work/wrk.txt"; then echo "bench: errors from $url" >&2; cat "$work/wrk.txt" >&2; exit 1; fi
    python3 - "$work/wrk.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", text, re.M))
print(f"{rps:.0f} {lat.get('50', '?')} {lat.get('99', '?')}")
PY
}
read -r u50 u_p50 u_p99 <<<"$(measure $U http://10.0.0.2:8080/)"
read -r n50 n_p50 n_p99 <<<"$(measure $A http://10.0.1.2:8080/)"
echo "http small page (index.html), wrk -t1 -c32 -d10s, keep-alive:"
echo "  unikernel (spt, smoltcp over a tap): $u50 req/s  p50 $u_p50  p99 $u_p99"
echo "  nginx (1 worker, veth):              $n50 req/s  p50 $n_p50  p99 $n_p99"
python3 -c "print(f'  ratio unikernel / nginx: {$u50 / $n50:.2f} (goal >= 0.50)')"

#!/usr/bin/env bash
# HTTP and HTTPS: wrk (1 thread, 32 keep-alive connections, 10 s per run)
# against the static_website_tls unikernel on spt (direct stack, over a tap
# in a namespace) and against nginx (1 worker, the same files and
# certificate) in a namespace of its own over a veth: the small page
# (index.html) and a 1 MiB file, over HTTP and HTTPS; then connections/s:
# the small page over HTTP with `Connection: close`, so each request opens
# a connection (wrk reconnects). Prints requests/s, MB/s, p50/p99 latency
# and the unikernel/nginx ratios.
# Goals (issue 13): at least 50% of nginx's requests/s on the small page
# over HTTP, at least 35% over HTTPS; (issue 27) connections/s at least
# 0.9x nginx's.
# The 1 MiB file is added to a copy of the checkout, not to the example.
# Only namespaces and processes made here are used, stopped by PID.
# MIRAGE_BENCH_PROFILE=DIR runs the unikernel under `mirage run --profile`
# and, at the end, writes DIR/http-spt.svg and prints the functions it
# spent its CPU in (perf's sampling costs it a little throughput).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
for tool in wrk nginx openssl; do
    command -v $tool >/dev/null 2>&1 || { echo "bench: installing $tool"; apt-get install -y -qq $tool >/dev/null; }
done
source bench/cli.sh
U=mirage-http-u; A=mirage-http-a; B=mirage-http-b
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for ns in $U $A $B; do ip netns del $ns 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

source bench/site_copy.sh
site_copy "$work"

for ns in $U $A $B; do ip netns add $ns; ip -n $ns link set lo up; done
ip -n $U tuntap add tap0 mode tap
ip -n $U addr add 10.0.0.1/24 dev tap0
ip -n $U link set tap0 up
ip link add veth-a netns $A type veth peer name veth-b netns $B
ip -n $A addr add 10.0.1.1/24 dev veth-a; ip -n $A link set veth-a up
ip -n $B addr add 10.0.1.2/24 dev veth-b; ip -n $B link set veth-b up

# The unikernel: mirage run forwards our SIGTERM to the tender.
profile=()
if [ -n "${MIRAGE_BENCH_PROFILE:-}" ]; then
    mkdir -p "$MIRAGE_BENCH_PROFILE"
    profile=("--profile=$(cd "$MIRAGE_BENCH_PROFILE" && pwd)/http-spt.svg")
fi
(cd "$work/repo" && exec ip netns exec $U "$MIRAGE" run -t spt "${profile[@]}" //examples/static_website:static_website_tls \
    --tap service=tap0 -- --http-port=8080 --https-port=8443) > "$work/unikernel.log" 2>&1 &
unikernel=$!
pids+=($unikernel)
for _ in $(seq 600); do grep -q "http: listening on port 8080" "$work/unikernel.log" && break; sleep 0.05; done

# nginx: one worker, the same files and certificate, its own prefix.
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
    ssl_protocols TLSv1.2 TLSv1.3;
    server {
        listen 10.0.1.2:8080;
        listen 10.0.1.2:8443 ssl;
        ssl_certificate $site/tls/server.pem;
        ssl_certificate_key $site/tls/server.key;
        root $site/htdocs;
    }
}
EOF
ip netns exec $B nginx -c "$work/nginx.conf" -p "$work" &
pids+=($!)
sleep 1

# wrk against URL from namespace NS, with more wrk ARGS: "req/s MB/s p50
# p99 socket-errors".
measure() {
    local ns=$1 url=$2
    shift 2
    ip netns exec "$ns" wrk -t1 -c32 -d10s --latency "$@" "$url" > "$work/wrk.txt"
    if grep -q "Non-2xx" "$work/wrk.txt"; then echo "bench: errors from $url" >&2; cat "$work/wrk.txt" >&2; return 1; fi
    python3 - "$work/wrk.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
num, unit = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", text).groups()
mb = float(num) * {"B": 1 / 2**20, "KB": 1 / 1024, "MB": 1, "GB": 1024}[unit]
lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", text, re.M))
errors = sum(map(int, re.findall(r"(?:connect|read|write|timeout) (\d+)", text)))
print(f"{rps:.0f} {mb:.1f} {lat.get('50', '?')} {lat.get('99', '?')} {errors}")
PY
}
echo "wrk -t1 -c32 -d10s, keep-alive but for 'connections'; unikernel: spt, smoltcp over a tap; nginx: 1 worker, veth"
for case in "http small:http:8080:/" "https small:https:8443:/" "http 1MiB:http:8080:/1M.bin" "https 1MiB:https:8443:/1M.bin" "connections (http small, one per request):http:8080:/"; do
    IFS=: read -r name scheme port path <<<"$case"
    more=()
    [[ $name == connections* ]] && more=(-H "Connection: close")
    u=$(measure $U "$scheme://10.0.0.2:$port$path" "${more[@]}")
    n=$(measure $A "$scheme://10.0.1.2:$port$path" "${more[@]}")
    read -r u_rps u_mb u_p50 u_p99 u_err <<<"$u"
    read -r n_rps n_mb n_p50 n_p99 n_err <<<"$n"
    goal=""
    [ "$name" = "http small" ] && goal=" (goal >= 0.50)"
    [ "$name" = "https small" ] && goal=" (goal >= 0.35)"
    [[ $name == connections* ]] && goal=" = connections/s (goal >= 0.90)"
    echo "$name:"
    echo "  unikernel: $u_rps req/s  $u_mb MB/s  p50 $u_p50  p99 $u_p99  socket errors $u_err"
    echo "  nginx:     $n_rps req/s  $n_mb MB/s  p50 $n_p50  p99 $n_p99  socket errors $n_err"
    python3 -c "print(f'  ratio unikernel / nginx: {$u_rps / $n_rps:.2f} req/s$goal')"
done
if ((${#profile[@]})); then
    # mirage writes the profile once the image has ended.
    kill "$unikernel"; wait "$unikernel" || true
    folded="$MIRAGE_BENCH_PROFILE/http-spt.folded"
    echo "profile of the unikernel over all runs (${profile[0]#--profile=}): where its CPU went, by function"
    python3 - "$folded" <<'PY'
import collections, sys
leaf, total = collections.Counter(), 0
for line in open(sys.argv[1]):
    stack, n = line.rsplit(" ", 1)
    leaf[stack.split(";")[-1]] += int(n)
    total += int(n)
for name, n in leaf.most_common(12):
    print(f"  {100 * n / total:5.1f}%  {name}")
PY
fi

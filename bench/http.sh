#!/usr/bin/env bash
# HTTP and HTTPS: wrk (1 thread, 32 keep-alive connections, 10 s per run)
# against the static_website_tls unikernel on spt (direct stack, over a tap
# in a namespace) and against nginx (1 worker, the same files and
# certificate) in a namespace of its own over a veth: the small page
# (index.html) and a 1 MiB file, over HTTP and HTTPS; then connections/s:
# the small page over HTTP with `Connection: close`, so each request opens
# a connection (wrk reconnects). Prints requests/s, MB/s, p50/p99 latency
# and the unikernel/nginx ratios.
# Each case runs MIRAGE_BENCH_ROUNDS times (default 3), the unikernel and
# nginx in turn; it prints medians, the spread of the paired ratios, and
# each server's own CPU time per MB and per request (its processes'
# rusage, from /proc). Goals (issue 27): small pages and connections/s at
# least 0.9x nginx, 1 MiB bodies at least 0.5x.
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

# CPU clock ticks (user + system) the processes named COMM in namespace
# NS have used so far (the tender, or nginx's master and worker).
ticks() {
    local ns=$1 comm=$2 total=0 pid
    for pid in $(ip netns pids "$ns"); do
        [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ] || continue
        read -r -a stat <"/proc/$pid/stat"
        total=$((total + stat[13] + stat[14]))
    done
    echo "$total"
}

# wrk against URL from namespace NS, whose server is COMM, with more wrk
# ARGS: "req/s MB/s p50 p99 socket-errors server-CPU-seconds".
measure() {
    local ns=$1 comm=$2 url=$3 before
    shift 3
    before=$(ticks "$ns" "$comm")
    ip netns exec "$ns" wrk -t1 -c32 -d10s --latency "$@" "$url" > "$work/wrk.txt"
    if grep -q "Non-2xx" "$work/wrk.txt"; then echo "bench: errors from $url" >&2; cat "$work/wrk.txt" >&2; return 1; fi
    python3 - "$work/wrk.txt" "$(( $(ticks "$ns" "$comm") - before ))" "$(getconf CLK_TCK)" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
num, unit = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", text).groups()
mb = float(num) * {"B": 1 / 2**20, "KB": 1 / 1024, "MB": 1, "GB": 1024}[unit]
lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", text, re.M))
errors = sum(map(int, re.findall(r"(?:connect|read|write|timeout) (\d+)", text)))
cpu = int(sys.argv[2]) / int(sys.argv[3])
print(f"{rps:.0f} {mb:.2f} {lat.get('50', '?')} {lat.get('99', '?')} {errors} {cpu:.2f}")
PY
}
rounds=${MIRAGE_BENCH_ROUNDS:-3}
echo "wrk -t1 -c32 -d10s, keep-alive but for 'connections'; unikernel: spt, smoltcp over a tap; nginx: 1 worker, veth"
echo "$rounds rounds, each case unikernel then nginx in turn: medians, and the spread of the paired ratios (the machine is shared and noisy)"
cases=("http small:http:8080:/" "https small:https:8443:/" "http 1MiB:http:8080:/1M.bin" "https 1MiB:https:8443:/1M.bin" "connections (http small, one per request):http:8080:/")
for round in $(seq "$rounds"); do
    for case in "${cases[@]}"; do
        IFS=: read -r name scheme port path <<<"$case"
        more=()
        [[ $name == connections* ]] && more=(-H "Connection: close")
        echo "$name|unikernel|$(measure $U solo5-spt "$scheme://10.0.0.2:$port$path" "${more[@]}")" >> "$work/results"
        echo "$name|nginx|$(measure $B nginx "$scheme://10.0.1.2:$port$path" "${more[@]}")" >> "$work/results"
    done
done
# Goals: issue 27 (small pages and connections/s at least 0.9x nginx; 1 MiB
# bodies at least 0.5x).
python3 - "$work/results" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, side, fields = line.rstrip("\n").split("|")
    runs.setdefault(name, {}).setdefault(side, []).append(fields.split())
goals = {"http small": 0.9, "https small": 0.9, "http 1MiB": 0.5, "https 1MiB": 0.5}
for name, sides in runs.items():
    print(f"{name}:")
    for side in ("unikernel", "nginx"):
        rs = sides[side]
        med = lambda i: statistics.median(float(r[i]) for r in rs)
        rps, mb, cpu = med(0), med(1), med(5)
        mid = sorted(rs, key=lambda r: float(r[0]))[len(rs) // 2]
        per_mb = 1e3 * cpu / (mb * 10) if mb else float("nan")
        per_req = 1e6 * cpu / (rps * 10) if rps else float("nan")
        errors = sum(int(r[4]) for r in rs)
        print(f"  {side + ':':10} {rps:8.0f} req/s  {mb:8.1f} MB/s  p50 {mid[2]}  p99 {mid[3]}"
              f"  CPU {per_mb:6.1f} ms/MB {per_req:6.1f} us/req  socket errors {errors}")
    ratios = sorted(float(u[0]) / float(n[0]) for u, n in zip(sides["unikernel"], sides["nginx"]))
    goal = goals.get(name, 0.9)
    what = " = connections/s" if name.startswith("connections") else ""
    print(f"  ratio unikernel / nginx: {statistics.median(ratios):.2f} req/s{what} (goal >= {goal})"
          f", runs {min(ratios):.2f}-{max(ratios):.2f}")
PY
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

#!/usr/bin/env bash
# The http_client device against curl: http_fetch GETs a 64 MiB file from
# nginx (1 worker) over HTTP and HTTPS, on spt (smoltcp over a tap) and on
# unix (the host's sockets over a veth); curl fetches the same file over
# the same veth. Every run includes what the client does with the body:
# the unikernel boots and hashes it, curl pipes it to sha256sum. Prints
# seconds, MiB/s and the ratio to curl, best of 3. The images boot
# through their run.sh (no build check).
# Only namespaces and processes made here are used, stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
for tool in nginx openssl curl; do
    command -v $tool >/dev/null 2>&1 || { echo "bench: installing $tool"; apt-get install -y -qq $tool >/dev/null; }
done
source bench/cli.sh
S=mirage-hc-s; C=mirage-hc-c
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for ns in $S $C; do ip netns del $ns 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

for ns in $S $C; do ip netns add $ns; ip -n $ns link set lo up; done
ip -n $S tuntap add tap0 mode tap
ip -n $S addr add 10.0.0.1/24 dev tap0
ip -n $S link set tap0 up
ip link add veth-s netns $S type veth peer name veth-c netns $C
ip -n $S addr add 10.0.1.1/24 dev veth-s; ip -n $S link set veth-s up
ip -n $C addr add 10.0.1.2/24 dev veth-c; ip -n $C link set veth-c up

# A copy of the checkout whose http_fetch trusts this run's CA.
mkdir "$work/repo" "$work/www"
git ls-files -z | tar --null -cf - -T - | tar -xf - -C "$work/repo"
scripts/certs.sh "$work/tls" 10.0.0.1 10.0.1.1 >/dev/null
cp "$work/tls/ca.pem" "$work/repo/examples/http_fetch/roots/ca.pem"
head -c $((64 << 20)) /dev/urandom > "$work/www/big.bin"
want=$(sha256sum "$work/www/big.bin" | cut -d' ' -f1)
(cd "$work/repo" && "$MIRAGE" build -t spt //examples/http_fetch:http_fetch >/dev/null \
    && "$MIRAGE" build -t unix //examples/http_fetch:http_fetch --net=socket >/dev/null)

cat > "$work/nginx.conf" <<NGINX
daemon off;
worker_processes 1;
user root;
pid $work/nginx.pid;
error_log $work/error.log;
events {}
http {
    access_log off;
    client_body_temp_path $work/body;
    server {
        listen 10.0.0.1:80; listen 10.0.1.1:80;
        listen 10.0.0.1:443 ssl; listen 10.0.1.1:443 ssl;
        ssl_certificate $work/tls/server.pem;
        ssl_certificate_key $work/tls/server.key;
        root $work/www;
    }
}
NGINX
ip netns exec $S nginx -c "$work/nginx.conf" -e stderr 2>/dev/null &
pids+=($!)
for _ in $(seq 100); do ip netns exec $C curl -sf -o /dev/null http://10.0.1.1/ -r 0-0 && break; sleep 0.05; done

# The best of 3 runs of COMMAND in namespace NS: "SECONDS CPU_SECONDS",
# its wall time and the user and system time of what it ran (the tender
# and the image, or curl and sha256sum: their rusage). Each run must
# print the file's sha256.
best() {
    local ns=$1; shift
    local best="1e9 0" t
    for _ in 1 2 3; do
        (cd "$work/repo" && /usr/bin/time -f "%e %U %S" -o "$work/time.txt" \
            ip netns exec "$ns" "$@") > "$work/out.txt" 2>&1
        grep -q "$want" "$work/out.txt" || { echo "bench: no $want in:" >&2; cat "$work/out.txt" >&2; return 1; }
        t=$(awk '{print $1, $2 + $3}' "$work/time.txt")
        best=$(python3 -c "a, b = '$t'.split(), '$best'.split(); print(' '.join(min(a, b, key=lambda x: float(x[0]))))")
    done
    echo "$best"
}
args=(--http-client-max-body=100000000)
# The images boot through the run.sh beside them, as a deployment runs
# them: `mirage run` would add its build check (0.2-0.3 s here) to each.
out="$work/repo/mirage-out/examples/http_fetch/http_fetch"
echo "64 MiB GET, best of 3, boot and sha256 included; curl over the same veth;"
echo "CPU/MB: user and system time of the run (tender and image, or curl and sha256sum)"
for scheme in http https; do
    spt=$(best $S "$out/spt/run.sh" --net:service=tap0 --uri=$scheme://10.0.0.1/big.bin "${args[@]}")
    unix=$(best $C "$out/unix/run.sh" --uri=$scheme://10.0.1.1/big.bin "${args[@]}")
    curl=$(best $C sh -c "curl -sf --cacert $work/tls/ca.pem $scheme://10.0.1.1/big.bin | sha256sum")
    python3 - "$scheme" $spt $unix $curl <<'PY'
import sys
scheme = sys.argv[1]
spt, unix, curl = (tuple(map(float, sys.argv[i:i + 2])) for i in (2, 4, 6))
for name, (t, c) in [("spt (smoltcp)", spt), ("unix (sockets)", unix), ("curl | sha256sum", curl)]:
    print(f"  {scheme:5} {name:17} {t:6.2f} s  {64 / t:7.1f} MiB/s  ratio to curl {curl[0] / t:.2f}"
          f"  {c / 67.108864 * 1e3:5.1f} ms CPU/MB")
PY
done

#!/usr/bin/env bash
# Makes a test certificate authority and a server certificate it signs,
# for the TLS examples and tests. No private key belongs in git.
#
#   scripts/certs.sh DIR [NAME...]
#
# DIR/server.pem (the chain: server, then CA), DIR/server.key (PKCS#8) and
# DIR/ca.pem (what clients trust: curl --cacert DIR/ca.pem). NAMEs are the
# certificate's DNS names and IP addresses (default: localhost 127.0.0.1
# ::1 10.0.0.2). An existing DIR/server.pem is kept.
set -euo pipefail
dir=${1:?usage: scripts/certs.sh DIR [NAME...]}
shift
names=("$@")
[ $# -gt 0 ] || names=(localhost 127.0.0.1 ::1 10.0.0.2)
if [ -s "$dir/server.pem" ] && [ -s "$dir/server.key" ] && [ -s "$dir/ca.pem" ]; then
    exit 0
fi
command -v openssl >/dev/null || { echo "certs.sh: openssl is missing (apt-get install openssl)" >&2; exit 2; }
mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
san=""
for n in "${names[@]}"; do
    # IPv6 literals have colons, IPv4 ones only digits and dots.
    if [[ $n == *:* || $n =~ ^[0-9.]+$ ]]; then san+="IP:$n,"; else san+="DNS:$n,"; fi
done
san=${san%,}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
    -subj "/CN=rules_mirage test CA" -keyout "$work/ca.key" -out "$work/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=${names[0]}" -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
printf 'subjectAltName=%s\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' \
    "$san" >"$work/ext"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
    -CAcreateserial -days 825 -sha256 -extfile "$work/ext" -out "$work/leaf.pem" 2>/dev/null
cat "$work/leaf.pem" "$work/ca.pem" >"$dir/server.pem"
openssl pkcs8 -topk8 -nocrypt -in "$work/server.key" -out "$dir/server.key"
cp "$work/ca.pem" "$dir/ca.pem"
echo "certs.sh: $dir/server.pem (for ${names[*]}), $dir/server.key, $dir/ca.pem (trust this one)"

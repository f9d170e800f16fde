#!/usr/bin/env bash
# Installs what rules_mirage needs on a Debian machine and says what it
# installs. Sourced by the other scripts; safe to run again.
set -euo pipefail

need_apt=()
command -v dot >/dev/null 2>&1 || need_apt+=(graphviz)
command -v make >/dev/null 2>&1 || need_apt+=(make)
# Solo5's sources get rules_mirage's patches (toolchains/solo5/patches/).
command -v patch >/dev/null 2>&1 || need_apt+=(patch)
command -v qemu-system-x86_64 >/dev/null 2>&1 || need_apt+=(qemu-system-x86)
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
command -v ping >/dev/null 2>&1 || need_apt+=(iputils-ping)
command -v nc >/dev/null 2>&1 || need_apt+=(netcat-openbsd)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v dnsmasq >/dev/null 2>&1 || need_apt+=(dnsmasq-base)
# The image is split from its debug file with objcopy (binutils, beside ld).
command -v objcopy >/dev/null 2>&1 || need_apt+=(binutils)
# Solo5's spt tender links libseccomp.
[ -e /usr/include/seccomp.h ] || need_apt+=(libseccomp-dev)
# Bazel, for the test suite (SETUP_BAZEL=1): Debian's bazel-bootstrap and
# the rule sets WORKSPACE.bazel points at.
if [ "${SETUP_BAZEL:-0}" = 1 ]; then
    command -v bazel >/dev/null 2>&1 || need_apt+=(bazel-bootstrap)
    [ -d /usr/share/bazel/tools/skylib ] || need_apt+=(bazel-skylib)
    [ -d /usr/share/bazel/rules/java ] || need_apt+=(bazel-rules-java)
    [ -d /usr/share/bazel/rules/proto ] || need_apt+=(bazel-rules-proto)
fi
# The peers the test suite measures the unikernels against (SETUP_PEERS=1):
# certificates, nginx, a browser, a TLS scanner, OCI image tools, a syslog
# collector, PostgreSQL, BuildGrid (a remote execution server), and the
# attack tools of the adversary tests, strace (the durability tests watch
# for the flush), gdb (`mirage run --gdb`), perf (`mirage run --profile`)
# and Prometheus (it scrapes the metrics device).
if [ "${SETUP_PEERS:-0}" = 1 ]; then
    command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
    command -v nginx >/dev/null 2>&1 || need_apt+=(nginx)
    command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
    command -v testssl >/dev/null 2>&1 || need_apt+=(testssl.sh)
    command -v umoci >/dev/null 2>&1 || need_apt+=(umoci)
    command -v skopeo >/dev/null 2>&1 || need_apt+=(skopeo)
    command -v rsyslogd >/dev/null 2>&1 || need_apt+=(rsyslog)
    ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need_apt+=(postgresql)
    command -v slowhttptest >/dev/null 2>&1 || need_apt+=(slowhttptest)
    command -v hping3 >/dev/null 2>&1 || need_apt+=(hping3)
    command -v strace >/dev/null 2>&1 || need_apt+=(strace)
    command -v gdb >/dev/null 2>&1 || need_apt+=(gdb)
    command -v perf >/dev/null 2>&1 || need_apt+=(linux-perf)
    command -v prometheus >/dev/null 2>&1 || need_apt+=(prometheus)
fi
if ((${#need_apt[@]})); then
    echo "setup: installing Debian packages: ${need_apt[*]}"
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# The SPDX validator the release tests run (PyPI spdx-tools).
if [ "${SETUP_PEERS:-0}" = 1 ] && ! command -v pyspdxtools >/dev/null 2>&1; then
    echo "setup: installing PyPI package: spdx-tools"
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore spdx-tools
fi
# The reference littlefs, which the chamelon tests read and write disks with.
if [ "${SETUP_PEERS:-0}" = 1 ] && ! python3 -c 'import littlefs' >/dev/null 2>&1; then
    echo "setup: installing PyPI package: littlefs-python"
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore littlefs-python
fi
# BuildGrid for the remote execution test, in a venv of its own: 0.8.16
# needs Python 3.12 (3.11 gets only 0.4.4).
BUILDGRID="${MIRAGE_BUILDGRID:-$HOME/.cache/rules_mirage/buildgrid}"
# A Python 3.12 that runs: `command -v python3.12` may be pyenv's shim,
# which fails unless 3.12 is pyenv's selected version.
python312() {
    local py
    for py in "$(command -v python3.12 || true)" \
        "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12 /usr/bin/python3.12; do
        if [ -x "$py" ] && "$py" -c 'import sys, venv; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1; then
            echo "$py"
            return 0
        fi
    done
    return 1
}
if [ "${SETUP_PEERS:-0}" = 1 ] && [ ! -x "$BUILDGRID/bin/bgd" ]; then
    if ! py="$(python312)"; then
        echo "setup: BuildGrid 0.8.16 needs Python 3.12: install it (pyenv install 3.12, or Debian's python3.12 and python3.12-venv)" >&2
        exit 1
    fi
    echo "setup: installing PyPI packages buildgrid 0.8.16 and psycopg2-binary in $BUILDGRID (with $py)"
    rm -rf "$BUILDGRID"
    "$py" -m venv "$BUILDGRID"
    "$BUILDGRID/bin/pip" install --quiet --disable-pip-version-check buildgrid==0.8.16 psycopg2-binary
fi
if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: cargo is missing: install the Rust toolchain pinned in rust-toolchain.toml" >&2
    exit 1
fi
# One cargo target directory for the generator, the tests and every unikernel.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/target}"

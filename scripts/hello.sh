#!/usr/bin/env bash
# README command 1: build the `mirage` CLI, then build the hello unikernel
# with it and boot it on Solo5's spt tender.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
echo "hello: building the mirage CLI"
cargo build --quiet -p mirage
"$CARGO_TARGET_DIR/debug/mirage" run -t spt //examples/hello:hello "$@"

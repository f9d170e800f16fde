#!/usr/bin/env bash
# README command 1: build the `mirage` CLI, then build and run the hello
# unikernel with it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
echo "hello: building the mirage CLI"
cargo build --quiet -p mirage
"$CARGO_TARGET_DIR/debug/mirage" run -t unix //examples/hello:hello "$@"

#!/usr/bin/env bash
# The notes' kill -9 loop, long: the notes example on spt, a client PUTting
# numbered notes, the tender killed with SIGKILL after a pseudo-random
# delay (fixed seed) KILL_CUTS times (default 1,000; the CI suite runs 25),
# restarted on the same disk each time; every note that got its 201 must
# read back byte for byte, and `mirage disk check` must pass at the end.
# Prints the cuts and the notes acknowledged. Namespaces and processes are
# the test's own, stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
SETUP_PEERS=1 source scripts/setup.sh
MIRAGE_KILL_CUTS=${KILL_CUTS:-1000} cargo test --quiet -p mirage --test e2e \
    notes::acknowledged_notes_survive_kill_9_on_spt -- --nocapture 2>&1 | grep -E '^notes: |test result|panicked'

#!/usr/bin/env bash
# The strict load test, RUNS times in a row (default 10): 10,000
# keep-alive connections opened concurrently to static_website_tls on spt
# (with the tap's offload, as booted by default), each used twice, two
# rounds; every request must be answered and no connection reset
# (tests/e2e/http.rs, ten_thousand_keep_alive_connections_...). Prints
# each run's resets and heap figures, then how many runs passed.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
runs=${RUNS:-10}
test=http::ten_thousand_keep_alive_connections_leave_the_heap_as_it_was_on_spt
cargo test --quiet --offline -p mirage --test e2e --no-run 2>/dev/null
passed=0
for run in $(seq "$runs"); do
    out=$(cargo test --quiet --offline -p mirage --test e2e -- "$test" --exact --nocapture 2>&1)
    if grep -q "test result: ok. 1 passed" <<<"$out"; then
        passed=$((passed + 1))
        verdict=passed
    else
        verdict=FAILED
    fi
    echo "run $run: $verdict; $(grep -h "connections reset while opening\|heap in use:" <<<"$out" | tr '\n' ' ')"
    [ "$verdict" = passed ] || grep -A5 "panicked" <<<"$out" | head -8
done
echo "$passed of $runs runs passed"
[ "$passed" = "$runs" ]

# Sourced by the benchmarks: $MIRAGE, the CLI that builds and runs the
# images measured. Given in the environment (any build of it: what is
# measured is the images), or built here with the release profile.
if [ -z "${MIRAGE:-}" ]; then
    cargo build --quiet --release -p mirage
    MIRAGE="$CARGO_TARGET_DIR/release/mirage"
fi
export MIRAGE

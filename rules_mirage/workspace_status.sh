#!/bin/sh
# Bazel's workspace status for mirage_release: the git commit the sources
# are at, recorded in a release's provenance and buildinfo as `mirage
# release` records it in a checkout. Nothing when not a git checkout.
commit="$(git rev-parse HEAD 2>/dev/null)" && echo "STABLE_GIT_COMMIT $commit"
exit 0

#!/usr/bin/env bash
# Build a crate's release binary and copy it out: build_rust.sh MANIFEST BINARY OUT
#
# The crate's target/ may be shared by several clones (make links it into the cache, so that
# their dependencies compile once). Cargo judges a path package fresh by file times and keeps one
# binary in target/release, whichever clone built last: a clone whose sources are older than that
# build would copy another clone's binary. So the package's own artifacts are cleaned first (its
# dependencies stay), and the build and the copy happen under one lock on the target folder.
set -euo pipefail
manifest=$1 binary=$2 out=$3
target="$(dirname "$manifest")/target"
mkdir -p "$target"
exec 9>"$target/.nerbench-build.lock"
flock 9
package=$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$manifest" | head -1)
cargo clean --release --quiet --package "$package" --manifest-path "$manifest"
cargo build --release --locked --manifest-path "$manifest"
cp "$target/release/$binary" "$out"

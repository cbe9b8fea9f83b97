#!/usr/bin/env bash
# Build a crate's release binary and copy it out: build_rust.sh MANIFEST BINARY OUT [SOURCE...]
#
# The crate's target/ may be shared by several clones (make links it into the cache, so that
# their dependencies compile once). Cargo judges a path package fresh by file times and keeps one
# binary in target/release, whichever clone built last: a clone whose sources are older than that
# build would copy another clone's binary. So, under one lock on the target folder: the binary is
# taken as it is only when the target's stamp says it was built from these very sources (this
# clone's path and the SOURCE files' contents) and it still has the checksum recorded then;
# otherwise the package's own artifacts are cleaned (its dependencies stay) and it is built again.
set -euo pipefail
manifest=$1 binary=$2 out=$3
shift 3
crate="$(cd "$(dirname "$manifest")" && pwd -P)"
target="$crate/target"
built="$target/release/$binary"
stamp="$target/.nerbench-$binary.stamp"
mkdir -p "$target"
exec 9>"$target/.nerbench-build.lock"
flock 9
sources=$({ echo "$crate"; cat "$manifest" "$@"; } | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$sources $(sha256sum < "$built" 2>/dev/null | cut -d' ' -f1)" ]; then
  package=$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$manifest" | head -1)
  cargo clean --release --quiet --package "$package" --manifest-path "$manifest"
fi
cargo build --release --locked --manifest-path "$manifest"
echo "$sources $(sha256sum < "$built" | cut -d' ' -f1)" > "$stamp"
cp "$built" "$out"

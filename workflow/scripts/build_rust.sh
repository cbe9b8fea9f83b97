#!/usr/bin/env bash
# Build a crate's release binary and copy it out: build_rust.sh MANIFEST BINARY OUT [SOURCE...]
#
# The crate's target/ may be shared by several clones (make links it into the cache, so that
# their dependencies compile once). Cargo keeps one record of the package for all of them, judged
# by the file times of whichever clone built it last, and one binary in target/release. So, under
# one lock on the target folder, a stamp records what the binary there was built from: the
# SOURCE files' contents, the manifest and the compiler. A clone whose sources are those takes the
# binary as it is (a fresh clone of the same code compiles nothing: the binary's link-time
# optimisation alone takes half a minute). Otherwise cargo builds; a binary it did not compile
# just now may be another clone's, so then the package's own artifacts are cleaned (its
# dependencies stay) and it is built again.
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

sources=$({ cat "$manifest" "$@"; rustc -vV; } | sha256sum | cut -d' ' -f1)
record() { echo "$sources $(sha256sum < "$built" 2>/dev/null | cut -d' ' -f1)"; }
# The binary's compiler-artifact message: "fresh":false when cargo compiled it in this build.
build() {
  local messages
  messages=$(cargo build --release --locked --manifest-path "$manifest" --message-format=json-render-diagnostics)
  grep -F '"reason":"compiler-artifact"' <<<"$messages" | grep -F '"kind":["bin"]' | grep -F "\"name\":\"$binary\"" || true
}

if [ "$(cat "$stamp" 2>/dev/null)" != "$(record)" ] && [[ "$(build)" != *'"fresh":false'* ]]; then
  package=$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$manifest" | head -1)
  cargo clean --release --quiet --package "$package" --manifest-path "$manifest"
  build >/dev/null
fi
record > "$stamp"
cp "$built" "$out"

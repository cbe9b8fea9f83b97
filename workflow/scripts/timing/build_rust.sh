#!/usr/bin/env bash
# Build a crate's release binary and copy it out: build_rust.sh MANIFEST BINARY OUT [SOURCE...]
#
# The crate's target/ may be shared by several clones (make links it into the cache, so that
# their dependencies compile once). Cargo keeps one record of the package for all of them, judged
# by the file times of whichever clone built it last, and one binary in target/release. So, under
# one lock on the target folder, a stamp records what the binary there was built from: the
# SOURCE files' contents, the manifest and the compiler. A clone whose sources are those takes the
# binary as it is (a fresh clone of the same code compiles nothing: the binary's link-time
# optimisation alone takes half a minute). Otherwise cargo builds; unless it compiled every part
# of the package just now (library and binary, from this clone's files), a part may be another
# clone's, so the package's own artifacts are cleaned (its dependencies stay) and it is built again.
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

sources=$({ cat "$manifest" "$@"; rustc -vV; cargo -V; } | sha256sum | cut -d' ' -f1)
record() { echo "$sources $({ sha256sum <"$built"; } 2>/dev/null | cut -d' ' -f1)"; }
# The package's own compiler-artifact messages (a path package; its dependencies come from the
# registry), each with "fresh":false when cargo compiled that part in this build.
build() {
  local messages
  messages=$(cargo build --release --locked --manifest-path "$manifest" --message-format=json-render-diagnostics) || return
  grep -F '"reason":"compiler-artifact"' <<<"$messages" | grep -F '"package_id":"path+file://' || true
}

if [ "$(cat "$stamp" 2>/dev/null)" != "$(record)" ]; then
  artifacts=$(build) || exit
  if [ -z "$artifacts" ] || grep -qF '"fresh":true' <<<"$artifacts"; then
    package=$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$manifest" | head -1)
    cargo clean --release --quiet --package "$package" --manifest-path "$manifest"
    build >/dev/null || exit
  fi
fi
record > "$stamp"
cp "$built" "$out"

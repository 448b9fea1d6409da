#!/usr/bin/env bash
# Install corun into a temporary prefix, build the example embedder
# against it with nothing but pkg-config, and run it.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
extra=${2:-} # e.g. -fsanitize=address,undefined, as the library was built
prefix=$(mktemp -d /tmp/corun-prefix.XXXXXX)
trap 'rm -rf "$prefix"' EXIT
env -u MAKEFLAGS -u MAKELEVEL make -s -C "$src" BUILD="$build" install PREFIX="$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
# Only the public API is exported from the shared library.
others=$(nm -D --defined-only "$prefix/lib/libcorun.so" | awk '{print $3}' | grep -v '^corun_' || true)
if [ -n "$others" ]; then
  echo "libcorun.so exports more than corun_*:" $others >&2
  exit 1
fi
cc -Wall -Wextra -Werror $extra -o "$prefix/embed" "$src/tests/embed/embed.c" \
  $(pkg-config --cflags --libs corun)
LD_LIBRARY_PATH="$prefix/lib" "$prefix/embed"

#!/usr/bin/env bash
# Debian packages of corun, built from the tree with dpkg-deb: `make deb`.
#
#   bash src/cli/deb.sh VERSION SOVERSION OUTDIR
#
# Builds the tree again into OUTDIR/build with Debian's hardening flags
# (dpkg-buildflags), installs it into a staging root with PREFIX=/usr, the
# multiarch library folder and Debian's zsh completion folder, splits that
# into three packages and writes them to OUTDIR:
#
#   corun           the command line (linked statically with libcorun), its
#                   man page, bash/zsh/fish completions and the demo
#   libcorunSOVERSION  the shared library, libcorun.so.SOVERSION (the soname:
#                   the package is named for it, as Debian's policy asks)
#   libcorun-dev    the header, libcorun.so, libcorun.a and corun.pc
#
# Every control file is generated here: control (Depends from
# dpkg-shlibdeps), md5sums, and for the library shlibs and an ldconfig
# trigger; each package gets a copyright file from LICENSE and a changelog.
# Nothing is written outside OUTDIR. DEB_MAINTAINER overrides the
# Maintainer field.
set -euo pipefail
if [[ $# -ne 3 ]]; then
  echo "usage: $0 VERSION SOVERSION OUTDIR" >&2
  exit 2
fi
version=$1 so=$2 out=$3
src=$(cd "$(dirname "$0")/../.." && pwd)
for tool in dpkg-deb dpkg-shlibdeps dpkg-architecture dpkg-buildflags; do
  command -v "$tool" >/dev/null || {
    echo "deb: $tool is missing (Debian's dpkg-dev package)" >&2
    exit 2
  }
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
maintainer=${DEB_MAINTAINER:-"corun maintainers <maintainers@corun.example.org>"}
lib=libcorun$so
# Reproducible: file times and the changelog's date from the last commit.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$src" log -1 --format=%ct 2>/dev/null || date +%s)}

# ---- build and stage --------------------------------------------------------

stage=$out/stage
rm -rf "$stage" "$out"/pkg "$out"/*.deb
flags=(
  BUILD="$out/build"
  CFLAGS="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
  LDFLAGS="$(dpkg-buildflags --get LDFLAGS)"
  PREFIX=/usr LIBDIR="/usr/lib/$multiarch"
  ZSH_COMPDIR=/usr/share/zsh/vendor-completions
)
# -o corun: the copy of the binary at the top of the tree is the default
# build's, and stays so.
env -u MAKEFLAGS -u MAKELEVEL make -s -C "$src" -o corun "${flags[@]}" all >/dev/null
env -u MAKEFLAGS -u MAKELEVEL make -s -C "$src" -o corun "${flags[@]}" DESTDIR="$stage" install >/dev/null

# ---- split into packages ------------------------------------------------------

pkg() { echo "$out/pkg/$1"; }
move() { # PACKAGE PATH...: move staged paths into the package's root
  local p=$1 f
  shift
  for f in "$@"; do
    mkdir -p "$(pkg "$p")/$(dirname "$f")"
    mv "$stage/$f" "$(pkg "$p")/$f"
  done
}
libdir=usr/lib/$multiarch
move corun usr/bin/corun usr/share/man/man1/corun.1 \
  usr/share/bash-completion/completions/corun \
  usr/share/zsh/vendor-completions/_corun \
  usr/share/fish/vendor_completions.d/corun.fish
move "$lib" "$libdir/libcorun.so.$version" "$libdir/libcorun.so.$so"
move libcorun-dev usr/include/corun.h "$libdir/libcorun.so" "$libdir/libcorun.a" \
  "$libdir/pkgconfig/corun.pc"
left=$(cd "$stage" && find . -type f -o -type l)
if [[ -n $left ]]; then
  echo "deb: installed but in no package:" $left >&2
  exit 1
fi

# Stripped as dh_strip would; the man page compressed as dh_compress would.
strip --remove-section=.comment --remove-section=.note "$(pkg corun)/usr/bin/corun"
strip --remove-section=.comment --remove-section=.note --strip-unneeded \
  "$(pkg "$lib")/$libdir/libcorun.so.$version"
chmod 644 "$(pkg "$lib")/$libdir/libcorun.so.$version" # policy 8.1: not executable
strip --strip-debug --remove-section=.comment --remove-section=.note \
  --enable-deterministic-archives "$(pkg libcorun-dev)/$libdir/libcorun.a"
gzip -9n "$(pkg corun)/usr/share/man/man1/corun.1"
mkdir -p "$(pkg corun)/usr/share/doc/corun/examples"
install -m 644 "$src/jobs/demo.json" "$(pkg corun)/usr/share/doc/corun/examples/demo.json"
install -m 644 "$src/jobs/schema.json" "$(pkg corun)/usr/share/doc/corun/examples/schema.json"
install -m 644 "$src/README.md" "$(pkg corun)/usr/share/doc/corun/README.md"
gzip -9n "$(pkg corun)/usr/share/doc/corun/README.md"

# ---- documentation every package carries ------------------------------------------

changelog_date=$(date -u -R -d "@$SOURCE_DATE_EPOCH")
for p in corun "$lib" libcorun-dev; do
  doc=$(pkg "$p")/usr/share/doc/$p
  mkdir -p "$doc"
  {
    echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
    echo "Upstream-Name: corun"
    echo
    echo "Files: *"
    grep -m1 '^Copyright' "$src/LICENSE"
    echo "License: Expat"
    echo
    echo "License: Expat"
    sed -n '/^Permission/,$p' "$src/LICENSE" | sed -e 's/^$/./' -e 's/^/ /'
  } >"$doc/copyright"
  printf '%s\n' "corun ($version) unstable; urgency=medium" "" \
    "  * Built from the corun source tree with make deb." "" \
    " -- $maintainer  $changelog_date" | gzip -9n >"$doc/changelog.gz"
done

# ---- control data --------------------------------------------------------------------

# dpkg-shlibdeps reads debian/control of a source package: a minimal one in
# OUTDIR stands in.
shl=$out/shlibdeps
mkdir -p "$shl/debian"
printf '%s\n' "Source: corun" "" "Package: corun" "Architecture: any" >"$shl/debian/control"
depends() { # BINARY...: the Depends line dpkg-shlibdeps works out
  (cd "$shl" && dpkg-shlibdeps -O "$@" 2>/dev/null) | sed -n 's/^shlibs:Depends=//p'
}
corun_deps=$(depends "$(pkg corun)/usr/bin/corun")
lib_deps=$(depends "$(pkg "$lib")/$libdir/libcorun.so.$version")

control() { # PACKAGE SECTION MULTIARCH DEPENDS SYNOPSIS, the long text on stdin
  local p=$1 section=$2 ma=$3 deps=$4 synopsis=$5
  local root; root=$(pkg "$p")
  mkdir -p "$root/DEBIAN"
  {
    echo "Package: $p"
    echo "Version: $version"
    echo "Architecture: $arch"
    [[ -n $ma ]] && echo "Multi-Arch: $ma"
    echo "Maintainer: $maintainer"
    echo "Installed-Size: $(du -sk --apparent-size --exclude=DEBIAN "$root" | cut -f1)"
    [[ -n $deps ]] && echo "Depends: $deps"
    echo "Section: $section"
    echo "Priority: optional"
    echo "Description: $synopsis"
    cat
  } >"$root/DEBIAN/control"
  (cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
    xargs -0r md5sum) >"$root/DEBIAN/md5sums"
}
control corun utils "" "$corun_deps" "run the commands of a JSON job file in parallel" <<'EOF'
 corun runs the jobs of a JSON job file in parallel, each a child process
 with its output piped and gathered as it comes, with dependencies,
 concurrency limits, timeouts, retries and clean cancellation: nothing a job
 started outlives the run. It writes a JSON report, JSON Lines events, JUnit
 XML, a Chrome trace and an SVG timeline for CI pipelines, and shows a live
 status line and a summary on a terminal.
 .
 This package holds the command line, its man page and its completions for
 bash, zsh and fish.
EOF
control "$lib" libs same "$lib_deps" "run the jobs of a plan in parallel on a libuv loop (library)" <<'EOF'
 libcorun runs the commands of a job plan (a JSON job file, or jobs built in
 code) in parallel on an embedder's own libuv loop, with dependencies,
 limits, timeouts, retries and cancellation, and hands back the results as
 plain structs. It never prints, exits or installs signal handlers.
 .
 This package holds the shared library.
EOF
echo "libcorun $so $lib (>= $version)" >"$(pkg "$lib")/DEBIAN/shlibs"
echo "activate-noawait ldconfig" >"$(pkg "$lib")/DEBIAN/triggers"
control libcorun-dev libdevel same "$lib (= $version), libuv1-dev, libcjson-dev" \
  "run the jobs of a plan in parallel on a libuv loop (development files)" <<'EOF'
 libcorun runs the commands of a job plan (a JSON job file, or jobs built in
 code) in parallel on an embedder's own libuv loop, with dependencies,
 limits, timeouts, retries and cancellation, and hands back the results as
 plain structs.
 .
 This package holds the header corun.h, the static library and the
 pkg-config file: cc app.c $(pkg-config --cflags --libs corun).
EOF

# ---- build ----------------------------------------------------------------------------

for p in corun "$lib" libcorun-dev; do
  root=$(pkg "$p")
  find "$root" -path "$root/DEBIAN" -prune -o -type d -exec chmod 755 {} +
  chmod 644 "$root"/DEBIAN/*
  find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
  dpkg-deb --root-owner-group -Zxz --build "$root" "$out/${p}_${version}_${arch}.deb" >/dev/null
  echo "deb: $out/${p}_${version}_${arch}.deb"
done

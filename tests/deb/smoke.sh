#!/usr/bin/env bash
# Try the Debian packages of `make deb`: `make deb-test`.
#
#   bash tests/deb/smoke.sh DEBDIR [--system]
#
# 1. lintian finds no error in them (skipped when lintian is missing);
# 2. they unpack into a scratch root, where the demo runs with the
#    packaged corun, tests/embed/embed.c builds against the packaged -dev
#    with pkg-config alone (PKG_CONFIG_SYSROOT_DIR pointing into the root)
#    and runs with the packaged library, the man page renders and the
#    completions load;
# 3. with --system (root, on a Debian machine such as CI's): apt installs
#    them for real, pulling in what they depend on; the same checks run on
#    the installed files with nothing set (corun on PATH, pkg-config's own
#    search path, ldconfig), and the packages are purged again afterwards
#    unless they were installed before.
set -euo pipefail
if [[ $# -lt 1 || ! -d $1 ]]; then
  echo "usage: $0 DEBDIR [--system]" >&2
  exit 2
fi
debs=$(cd "$1" && pwd)
system=${2:-}
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/corun-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
shopt -s nullglob
files=("$debs"/*.deb)
if ((${#files[@]} != 3)); then
  echo "deb-test: expected 3 packages in $debs, found ${#files[@]}" >&2
  exit 1
fi
fail=0
say() { printf 'deb-test: %s\n' "$*"; }
bad() { printf 'deb-test: FAILED: %s\n' "$*" >&2; fail=1; }

for f in "${files[@]}"; do
  say "$(dpkg-deb -f "$f" Package Version Architecture Depends | tr '\n' ' ')"
done

# ---- 1. lintian ----------------------------------------------------------------

if command -v lintian >/dev/null; then
  if lintian --fail-on error --tag-display-limit 0 "${files[@]}" >"$work/lintian.txt" 2>&1; then
    say "lintian: no errors ($(grep -c '^W:' "$work/lintian.txt" || true) warnings)"
  else
    cat "$work/lintian.txt" >&2
    bad "lintian found errors"
  fi
  grep '^[WE]:' "$work/lintian.txt" || true
else
  say "lintian is not installed: skipped"
fi

# ---- the checks, on a root where the packages are ------------------------------

# check ROOT CORUN PKGCONFIG_ENV... : run the demo, build and run the
# embedder, render the man page, load the completions.
check() {
  local root=$1 corun=$2
  shift 2
  local run=$work/run-$RANDOM
  mkdir -p "$run"
  local demo=$root/usr/share/doc/corun/examples/demo.json
  # A system whose dpkg drops documentation (path-exclude, as slim
  # container images do) has neither the demo nor the man page.
  local excluded=""
  if [[ $root == / ]] && grep -qs '^path-exclude=*/usr/share/\(doc\|man\)' /etc/dpkg/dpkg.cfg.d/*; then
    excluded=yes
    say "dpkg here excludes documentation: the demo from the tree, no man page check"
    demo=$src/jobs/demo.json
  fi
  if (cd "$run" && "$corun" --output prefix "$demo" >"$run/demo.out" 2>"$run/demo.err"); then
    grep -q '^package *| corun-demo.tar.gz$' "$run/demo.out" || bad "the demo's output: $(cat "$run/demo.out")"
    say "demo: $(grep -c . "$run/demo.out") lines, exit 0"
  else
    bad "the demo failed: $(cat "$run/demo.err")"
  fi
  "$corun" --version | grep -q "^corun " || bad "corun --version"
  local cflags libs
  if cflags=$(env "$@" pkg-config --cflags corun) && libs=$(env "$@" pkg-config --libs corun); then
    if cc -Wall -Wextra -Werror -o "$run/embed" "$src/tests/embed/embed.c" $cflags $libs; then
      local ld=""
      [[ $root != / ]] && ld=$root/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)
      if (cd "$run" && LD_LIBRARY_PATH=$ld "$run/embed" >"$run/embed.out" 2>&1); then
        say "embed.c: built with pkg-config ($cflags $libs) and ran"
      else
        bad "embed.c ran badly: $(cat "$run/embed.out")"
      fi
      # It runs against the packaged library, not another one.
      local so
      so=$(LD_LIBRARY_PATH=$ld ldd "$run/embed" | awk '/libcorun/ {print $3}')
      [[ $so == "$root"* || $root == / ]] || bad "embed uses $so, not the package's"
    else
      bad "embed.c does not build against the package"
    fi
  else
    bad "pkg-config does not find corun"
  fi
  local page=$root/usr/share/man/man1/corun.1.gz
  if [[ -n $excluded ]]; then
    :
  elif [[ -f $page ]] && man -l "$page" 2>/dev/null | grep -q 'CORUN_JOB_ID'; then
    say "man page: renders"
  else
    bad "the man page is missing or does not render"
  fi
  for f in bash-completion/completions/corun zsh/vendor-completions/_corun \
    fish/vendor_completions.d/corun.fish; do
    [[ -f $root/usr/share/$f ]] || bad "no $f"
  done
  bash -c "source $root/usr/share/bash-completion/completions/corun && complete -p corun" >/dev/null ||
    bad "the bash completion does not load"
}

# ---- 2. a scratch root -------------------------------------------------------------

root=$work/root
for f in "${files[@]}"; do
  dpkg-deb -x "$f" "$root"
done
# The .pc file says prefix=/usr: the sysroot puts its paths under the root.
say "scratch root: $root"
check "$root" "$root/usr/bin/corun" \
  PKG_CONFIG_SYSROOT_DIR="$root" \
  PKG_CONFIG_LIBDIR="$root/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/pkgconfig:/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/pkgconfig:/usr/share/pkgconfig"

# ---- 3. installed for real ------------------------------------------------------------

if [[ $system == --system ]]; then
  if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
    bad "--system needs root and apt-get"
  else
    names=()
    for f in "${files[@]}"; do
      names+=("$(dpkg-deb -f "$f" Package)")
    done
    before=()
    for p in "${names[@]}"; do
      dpkg -s "$p" >/dev/null 2>&1 && before+=("$p")
    done
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${files[@]}" >"$work/apt.txt" 2>&1 ||
      { cat "$work/apt.txt" >&2; bad "apt-get install"; }
    say "installed: $(dpkg-query -W -f '${Package} ${Version}  ' "${names[@]}")"
    [[ $(command -v corun) == /usr/bin/corun ]] || bad "corun is not /usr/bin/corun on PATH"
    grep -qs '^path-exclude=*/usr/share/man' /etc/dpkg/dpkg.cfg.d/* ||
      man -w corun >/dev/null 2>&1 || bad "man -w corun finds no page"
    check / corun
    # Each shell finds the completion where it looks by itself.
    if [[ -f /usr/share/bash-completion/bash_completion ]]; then
      bash -c 'source /usr/share/bash-completion/bash_completion; _completion_loader corun
        complete -p corun' 2>/dev/null | grep -q _corun || bad "bash-completion does not load corun's"
    fi
    if command -v zsh >/dev/null; then
      [[ $(zsh -fc 'autoload -U compinit; compinit -u -D; print -r -- ${_comps[corun]}') == _corun ]] ||
        bad "zsh's compinit does not find _corun"
    fi
    if command -v fish >/dev/null; then
      HOME=$work fish -c 'complete -C"corun --output "' | grep -q '^raw' ||
        bad "fish does not find corun.fish"
    fi
    say "completions: found by bash-completion, zsh and fish where installed"
    if ((${#before[@]} == 0)); then
      DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "${names[@]}" >/dev/null 2>&1 ||
        bad "apt-get purge"
      say "purged again"
    else
      say "left installed (they were before): ${before[*]}"
    fi
  fi
fi

if [[ $fail != 0 ]]; then
  echo "deb-test: FAILED" >&2
  exit 1
fi
say "all passed"

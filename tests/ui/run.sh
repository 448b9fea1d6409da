#!/usr/bin/env bash
# What people see: the status line in a real terminal, the summary, the
# timeline's structure, the shell completions and the man page.
# `make test` runs it.
#
#   bash tests/ui/run.sh BUILD
#
#  1  the status line in a 40-column terminal (tmux): the running jobs'
#     names, a failure counted, cleared before every line of job output,
#     never wider than the terminal, composed at most ~10 times a second,
#     gone at the end; the summary below it
#  2  the terminal shrinks from 80 to 30 columns (SIGWINCH) mid-run, with
#     --color always: the line follows the new width; statuses coloured
#  3  stderr not a terminal (stdout is): nothing of the status line, a
#     summary without colours
#  4  --output raw with a line left open: no status line inside it
#  5  the summary off a terminal: failures, the slowest jobs of a run of
#     3 s and more, the count; a run that went well says nothing
#  6  the timeline: legend, round ticks, critical path outlined and linked,
#     names in bars and in every title (tests/ui/check_timeline.py)
#  7  the timeline of big runs: 600 attempts on 4 slots merge thin bars,
#     120 slots drawn as 40 rows, each with a note
#  8  bash completion (complete -p, then _corun as bash calls it)
#  9  zsh completion, through an interactive zsh in a pty (zsh/zpty)
# 10  fish completion (complete -C)
# 11  the man page: mandoc -T lint (or groff -ww) finds nothing; it names
#     every option of --help
#
# tmux, zsh, fish and mandoc are optional: a scenario whose tool is missing
# is skipped (CI installs them all). Prints `ok N - what` or `not ok N -
# what` with the reasons, then a count; exits 1 when any failed.
set -u -o pipefail
export LC_ALL=C.UTF-8 LANG=C.UTF-8
unset NO_COLOR CLICOLOR_FORCE

if [[ $# -lt 1 || ! -x $1/corun ]]; then
  echo "usage: $0 BUILD (holding corun)" >&2
  exit 2
fi
B=$(cd "$1" && pwd)
CORUN=$B/corun
SRC=$(cd "$(dirname "$0")/../.." && pwd)
UI=$SRC/tests/ui
W=$(mktemp -d "${TMPDIR:-/tmp}/corun-ui.XXXXXX")
TMUX_SOCK=corun-ui
# The tmux server's socket lives in the work folder and goes with it.
export TMUX_TMPDIR=$W
PASS=0 FAIL=0 SKIP=0

cleanup() {
  tmux -L "$TMUX_SOCK" kill-server 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT

# scenario N WHAT: run check_N, print the verdict and what it said.
scenario() {
  local n=$1 what=$2 out rc
  out=$("check_$n" 2>&1)
  rc=$?
  if [[ $rc == 77 ]]; then
    echo "ok $n - $what # SKIP ${out##*$'\n'}"
    SKIP=$((SKIP + 1))
  elif [[ $rc == 0 ]]; then
    echo "ok $n - $what"
    PASS=$((PASS + 1))
  else
    echo "not ok $n - $what"
    sed 's/^/    /' <<<"$out"
    FAIL=$((FAIL + 1))
  fi
}

need() {
  command -v "$1" >/dev/null || { echo "$1 is not installed"; exit 77; }
}

# ---- a terminal -------------------------------------------------------------

# tty NAME COLS COMMAND: run COMMAND (a shell line) in a fresh tmux window
# COLS wide, record every byte written to the terminal in $W/NAME.raw, and
# wait for it to end; its status is in $W/NAME.rc, the screen at the end in
# $W/NAME.screen, its run time in $W/NAME.secs. AT_1S, when set, is a tmux
# command run one second in.
tty() {
  local name=$1 cols=$2 cmd=$3 i
  printf '%s\n' "while [ ! -e $W/$name.go ]; do sleep 0.02; done" \
    "cd $W && env -u CI -u NO_COLOR LANG=C.UTF-8 TERM=xterm $cmd" \
    "echo \$? > $W/$name.rc" "exec sleep 600" >"$W/$name.sh"
  tmux -L "$TMUX_SOCK" -f /dev/null new-session -d -s "$name" -x "$cols" -y 30 "sh $W/$name.sh" || return 1
  tmux -L "$TMUX_SOCK" pipe-pane -t "$name" -o "cat > $W/$name.raw" || return 1
  local t0; t0=$(date +%s.%N)
  touch "$W/$name.go"
  if [[ -n ${AT_1S:-} ]]; then
    sleep 1
    tmux -L "$TMUX_SOCK" $AT_1S
  fi
  for ((i = 0; i < 600; i++)); do
    [[ -s $W/$name.rc ]] && break
    sleep 0.1
  done
  local t1; t1=$(date +%s.%N)
  python3 -c "print(round($t1 - $t0, 2))" >"$W/$name.secs"
  sleep 0.3 # the last bytes through pipe-pane
  tmux -L "$TMUX_SOCK" capture-pane -p -J -S - -t "$name" >"$W/$name.screen"
  tmux -L "$TMUX_SOCK" kill-session -t "$name"
  [[ -s $W/$name.rc ]] || { echo "$name: did not end in 60 s"; return 1; }
}

cat >"$W/status.json" <<'EOF'
{ "corun": 1, "max_parallel": 3,
  "jobs": [
    { "name": "slow-one", "cmd": "sleep 2.4; echo slow-one done" },
    { "name": "chatty", "cmd": "for i in 1 2 3 4 5 6 7 8 9 10; do echo chatty line $i; sleep 0.15; done" },
    { "name": "fails", "cmd": "sleep 0.3; echo broken >&2; exit 1" },
    { "name": "after-fails", "cmd": "echo never", "needs": ["fails"] },
    { "name": "quick-a", "cmd": "sleep 0.2; echo quick a" },
    { "name": "quick-b", "cmd": "sleep 0.4; echo quick b" },
    { "name": "a-job-with-a-rather-long-name", "cmd": "sleep 0.8; echo long name done" }
  ] }
EOF

check_1() {
  need tmux
  tty s1 40 "$CORUN --color never status.json" || return 1
  local bad=0
  python3 "$UI/check_tty.py" "$W/s1.raw" --cols 40 --names slow-one --failed \
    --seconds "$(cat "$W/s1.secs")" || bad=1
  [[ $(cat "$W/s1.rc") == 1 ]] || { echo "exit status $(cat "$W/s1.rc"), expected 1"; bad=1; }
  # The screen at the end: the jobs' lines and the summary, no status line.
  if grep -qE '^\[[0-9]+/[0-9]+\]' "$W/s1.screen"; then
    echo "a status line is left on the screen:"; cat "$W/s1.screen"; bad=1
  fi
  grep -q 'chatty .*| chatty line 10' "$W/s1.screen" || { echo "job output missing from the screen"; bad=1; }
  grep -q '^corun: 1 job did not succeed:' "$W/s1.screen" || { echo "no summary on the screen"; bad=1; }
  return $bad
}

check_2() {
  need tmux
  AT_1S="resize-window -t s2 -x 30" tty s2 80 "$CORUN --color always status.json" || return 1
  python3 "$UI/check_tty.py" "$W/s2.raw" --cols 80 --shrunk-to 30 --names slow-one,chatty --failed --color
}

check_3() {
  need tmux
  tty s3 80 "$CORUN status.json 2>$W/s3.err" || return 1
  local bad=0
  python3 "$UI/check_tty.py" "$W/s3.raw" --cols 80 --no-status || bad=1
  if grep -q $'\e\|\r' "$W/s3.err"; then echo "escapes or carriage returns on stderr:"; cat -v "$W/s3.err"; bad=1; fi
  grep -q '^corun: 1 job did not succeed:' "$W/s3.err" || { echo "no summary on stderr"; bad=1; }
  grep -qE '^corun: 5 ok, 1 failed, 1 skipped in [0-9.]+s \(run failed\)$' "$W/s3.err" ||
    { echo "no count line:"; cat "$W/s3.err"; bad=1; }
  return $bad
}

check_4() {
  need tmux
  cat >"$W/raw.json" <<'EOF'
{ "corun": 1, "jobs": [
    { "name": "open-line", "cmd": "printf 'no newline yet'; sleep 0.8; echo ' - now ended'" },
    { "name": "ticker", "cmd": "sleep 1.2" } ] }
EOF
  tty s4 80 "$CORUN --output raw raw.json" || return 1
  local bad=0
  python3 "$UI/check_tty.py" "$W/s4.raw" --cols 80 --names ticker || bad=1
  grep -q 'no newline yet - now ended' "$W/s4.screen" || { echo "the open line was broken:"; cat "$W/s4.screen"; bad=1; }
  return $bad
}

# ---- the summary off a terminal ------------------------------------------------

check_5() {
  cat >"$W/slow.json" <<'EOF'
{ "corun": 1, "jobs": [
    { "name": "long", "cmd": "sleep 3.1" },
    { "name": "medium", "cmd": "sleep 1" },
    { "name": "quick", "cmd": "true" },
    { "name": "short", "cmd": "sleep 0.5" },
    { "name": "bad", "cmd": "echo 'it broke' >&2; exit 2" },
    { "name": "lenient", "cmd": "exit 1", "allow_failure": true } ] }
EOF
  local bad=0 err
  err=$(cd "$W" && "$CORUN" --output none slow.json 2>&1 >/dev/null)
  local want
  want=$(printf '%s\n' "corun: 1 job did not succeed:" "  bad: failed (exit 2)" "    | it broke" \
    "corun: slowest: long 3.1s, medium 1.0s, short 0.5s" \
    "corun: 4 ok, 2 failed (1 allowed) in 3.1s (run failed)")
  # Times vary in their last digit: compare with the digits blanked.
  if [[ $(sed -E 's/[0-9]\.[0-9]s/T/g' <<<"$err") != $(sed -E 's/[0-9]\.[0-9]s/T/g' <<<"$want") ]]; then
    printf 'summary:\n%s\nexpected (times aside):\n%s\n' "$err" "$want"
    bad=1
  fi
  if grep -q $'\e' <<<"$err"; then echo "colours off a terminal"; bad=1; fi
  err=$(cd "$W" && "$CORUN" --output none --color auto status.json quick-a 2>&1 >/dev/null)
  [[ -z $err ]] || { echo "a run that went well printed: $err"; bad=1; }
  return $bad
}

# ---- the timeline -----------------------------------------------------------------

check_6() {
  need python3
  cat >"$W/tl.json" <<EOF
{ "corun": 1, "max_parallel": 4,
  "jobs": [
    { "name": "a", "cmd": "sleep 0.3" },
    { "name": "b", "cmd": "sleep 0.2", "needs": ["a"] },
    { "name": "c", "cmd": "sleep 0.2" },
    { "name": "d", "cmd": "sleep 0.3", "needs": ["b"] },
    { "name": "e", "cmd": "exit 3", "allow_failure": true },
    { "name": "f", "cmd": "sleep 0.05", "needs": ["a"] },
    { "name": "g", "cmd": "sleep 5", "timeout": "0.2s", "kill_grace": "0.1s", "allow_failure": true },
    { "name": "h", "cmd": "if [ -e h.mark ]; then sleep 0.1; else : > h.mark; exit 1; fi",
      "retries": 1, "retry_delay": "50ms" },
    { "name": "never", "cmd": "true", "needs": ["e"] }
  ] }
EOF
  (cd "$W" && "$CORUN" -q --output none --timeline tl.svg --report tl.json.report tl.json) || true
  local bad=0
  if command -v xmllint >/dev/null; then
    xmllint --noout "$W/tl.svg" || bad=1
  fi
  python3 "$UI/check_timeline.py" "$W/tl.svg" "$W/tl.json.report" --critical a,b,d \
    --in-bar a,d --rows 4 || bad=1
  return $bad
}

check_7() {
  need python3
  python3 - "$W" <<'EOF'
import json, sys
d = sys.argv[1]
json.dump({"corun": 1, "jobs": [{"name": "t%03d" % i, "cmd": ["true"]} for i in range(600)]},
          open(d + "/many.json", "w"))
json.dump({"corun": 1, "jobs": [{"name": "s%03d" % i, "cmd": ["sleep", "0.5"]} for i in range(120)]},
          open(d + "/wide.json", "w"))
EOF
  local bad=0
  (cd "$W" && "$CORUN" -q --output none -j 4 --timeline many.svg --report many.report many.json) || bad=1
  python3 "$UI/check_timeline.py" "$W/many.svg" "$W/many.report" --merged || bad=1
  (cd "$W" && "$CORUN" -q --output none -j 120 --timeline wide.svg --report wide.report wide.json) || bad=1
  local lanes
  lanes=$(grep -o '[0-9]* slots drawn as 40 rows' "$W/wide.svg" | cut -d' ' -f1)
  if [[ -z $lanes || $lanes -le 40 ]]; then
    echo "120 jobs at once were not drawn as 40 rows (slots: ${lanes:-?})"
    bad=1
  fi
  python3 "$UI/check_timeline.py" "$W/wide.svg" "$W/wide.report" --rows 40 --merged || bad=1
  return $bad
}

# ---- completions -------------------------------------------------------------------

# The job file the completions read names from.
cp "$SRC/jobs/demo.json" "$W/demo.json"

check_8() {
  PATH=$B:$PATH bash --norc --noprofile -c '
    cd "$1" && source "$2/src/cli/completions/corun.bash" || exit 1
    [[ $(complete -p corun) == "complete -F _corun corun" ]] || { complete -p corun; exit 1; }
    bad=0
    t() { # expected, then the words (the last one is completed)
      local want=$1; shift
      COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
      _corun
      local got="${COMPREPLY[*]}"
      [[ $got == "$want" ]] || { echo "[$*]: got \"$got\", expected \"$want\""; bad=1; }
    }
    t "--output" corun --out
    t "--check --color" corun --c
    t "prefix group raw none" corun --output ""
    t "raw" corun --output = r
    t "auto always never" corun --color ""
    t "soon,fail= soon,success=" corun --halt s
    t "demo.json" corun dem
    t "fetch unpack compile lint flaky slow-probe test package" corun demo.json ""
    t "fetch flaky" corun -j 2 --output = raw demo.json f
    t "test" corun -q -- demo.json te
    t "" corun nonexistent.json f
    t "--stream" corun --str
    t "" corun --each ""
    t "demo.json" corun -j 2 --each "gzip {}" -- dem
    exit $bad' _ "$W" "$SRC"
}

check_9() {
  need zsh
  zsh -fc 'zmodload zsh/zpty' 2>/dev/null || { echo "zsh has no zpty module"; exit 77; }
  local out want
  out=$(cd "$W" && PATH=$B:$PATH zsh -f "$UI/zsh_complete.zsh" "$SRC/src/cli/completions" \
    "corun --outp" "corun --output " "corun --color=" "corun --halt " "corun demo.json " \
    "corun -j 2 demo.json te")
  want=$(printf '%s\n' "== corun --outp" --output "== corun --output " group none prefix raw \
    "== corun --color=" always auto never \
    "== corun --halt " fail-fast never now,fail= now,success= soon,fail= soon,success= \
    "== corun demo.json " compile fetch flaky lint package slow-probe test unpack \
    "== corun -j 2 demo.json te" test)
  [[ $out == "$want" ]] || { diff <(echo "$want") <(echo "$out"); return 1; }
}

check_10() {
  need fish
  local out want
  out=$(cd "$W" && PATH=$B:$PATH fish --no-config -c "
    source $SRC/src/cli/completions/corun.fish
    for l in 'corun --outp' 'corun --output ' 'corun --color ' 'corun dem' 'corun demo.json ' 'corun -q demo.json fl'
      echo \"== \$l\"
      complete -C\"\$l\" | cut -f1 | sort
    end")
  want=$(printf '%s\n' "== corun --outp" --output "== corun --output " group none prefix raw \
    "== corun --color " always auto never "== corun dem" demo.json \
    "== corun demo.json " compile fetch flaky lint package slow-probe test unpack \
    "== corun -q demo.json fl" flaky)
  [[ $out == "$want" ]] || { diff <(echo "$want") <(echo "$out"); return 1; }
}

# ---- the man page -------------------------------------------------------------------

check_11() {
  local page=$SRC/src/cli/corun.1 bad=0 out
  if command -v mandoc >/dev/null; then
    out=$(mandoc -T lint -W warning "$page" 2>&1) || bad=1
  else
    out=$(groff -ww -z -man "$page" 2>&1)
  fi
  [[ -z $out ]] || { echo "$out"; bad=1; }
  # Every option --help lists is in the page.
  local opt
  for opt in $("$CORUN" --help | grep -oE '^ +(-[a-zA-Z], )?--[a-z-]+' | grep -oE -- '--[a-z-]+'); do
    grep -q -- "${opt//-/\\\\-}" "$page" || { echo "the man page lacks $opt"; bad=1; }
  done
  return $bad
}

scenario 1 "status line in a 40-column terminal: names, cleared before output, fits, gone"
scenario 2 "status line follows SIGWINCH (80 -> 30 columns), coloured with --color always"
scenario 3 "stderr not a terminal: no status line; the summary, without colours"
scenario 4 "--output raw: no status line inside an open line"
scenario 5 "summary off a terminal: failures, slowest jobs, one-line count; silent when all went well"
scenario 6 "timeline: legend, round ticks, critical path, names in bars and titles"
scenario 7 "timeline of big runs: thin bars merged, 120 slots as 40 rows, with notes"
scenario 8 "bash completion"
scenario 9 "zsh completion"
scenario 10 "fish completion"
scenario 11 "man page lint-clean and complete"
echo "ui: $PASS passed, $FAIL failed, $SKIP skipped"
[[ $FAIL == 0 ]]

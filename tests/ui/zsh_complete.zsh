#!/usr/bin/env zsh
# zsh_complete.zsh FPATH_DIR 'LINE'...: what zsh offers when TAB is pressed
# at the end of each LINE: "== LINE", then one candidate a line. An
# interactive zsh in a pty (zsh/zpty) loads the completions of FPATH_DIR
# with compinit, and compadd is wrapped to print every candidate it gets.
emulate -L zsh
zmodload zsh/zpty || exit 2
zpty z zsh -f -i
zpty -w z "PS1=''; RPS1=''; unsetopt beep; fpath=(${(q)1} \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z 'compadd () { local -a __hits; builtin compadd -O __hits "$@"; (( $#__hits )) && print -rl -- "" "HIT:"${^__hits}; builtin compadd "$@" }'
zpty -w z "zstyle ':completion:*' list-prompt ''; bindkey '^I' complete-word; bindkey '^U' kill-whole-line; print REA''DY"
local out all
integer quiet tries
while zpty -r z out; do [[ $out == *READY* ]] && break; done
shift
for line in "$@"; do
  all=""
  quiet=0 tries=0
  zpty -n -w z "$line"$'\t'
  # Read until nothing more comes for half a second (at most 10 s).
  while (( quiet < 5 && tries++ < 100 )); do
    if zpty -r -t z out; then all+=$out; quiet=0; else quiet+=1; sleep 0.1; fi
  done
  print -r -- "== $line"
  print -r -- "$all" | tr -d '\r' | sed -n 's/^HIT://p' | sort -u
  zpty -n -w z $'\C-u'
done
zpty -d z

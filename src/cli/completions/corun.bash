# bash completion for corun(1): options, their values, the job file, and
# the names of its jobs (read with `corun --list JOBFILE`).
# Installed as share/bash-completion/completions/corun.

# The job file on the line: the first word that is neither an option nor
# an option's value ("--output raw", "--output=raw", which bash splits at
# the "="), with a leading ~ expanded; empty when there is none yet.
_corun_jobfile() {
  local i=1 w=""
  while ((i < COMP_CWORD)); do
    w=${COMP_WORDS[i]}
    case $w in
      -j | --jobs | --halt | --timeout | --output | --log-dir | --report | \
        --events | --junit | --trace | --timeline | --color | --colour | --each)
        if [[ ${COMP_WORDS[i + 1]} == = ]]; then ((i += 3)); else ((i += 2)); fi
        w="" ;;
      --)
        w=""
        ((i + 1 < COMP_CWORD)) && w=${COMP_WORDS[i + 1]}
        break ;;
      -?*) ((i++)); w="" ;;
      *) break ;;
    esac
  done
  ((i >= COMP_CWORD)) && w=""
  [[ $w == "~"* ]] && w=$HOME${w#\~}
  printf '%s' "$w"
}

_corun() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
  local opts="-j --jobs --halt --timeout --output --log-dir --report --events
    --junit --trace --timeline --check --list --dry-run --graph --stream --each
    --color -q --quiet -h --help -V --version"
  COMPREPLY=()
  # "--opt=value": bash splits it into --opt, = and value (with "=" in
  # COMP_WORDBREAKS, the default); as one word otherwise.
  if [[ $cur == = ]]; then
    cur=""
  elif [[ $prev == = && COMP_CWORD -ge 2 ]]; then
    prev=${COMP_WORDS[COMP_CWORD - 2]}
  elif [[ $cur == --*=* ]]; then
    prev=${cur%%=*}
    cur=${cur#*=}
  fi
  case $prev in
    -j | --jobs)
      local n; n=$(nproc 2>/dev/null || echo 4)
      mapfile -t COMPREPLY < <(compgen -W "1 2 4 8 $n $((n * 2))" -- "$cur" | sort -un)
      return ;;
    --halt)
      mapfile -t COMPREPLY < <(compgen -W "never fail-fast soon,fail= now,fail= soon,success= now,success=" -- "$cur")
      [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *= ]] && compopt -o nospace 2>/dev/null
      return ;;
    --timeout)
      mapfile -t COMPREPLY < <(compgen -W "30s 1m 5m 10m 30m 1h" -- "$cur")
      return ;;
    --output)
      mapfile -t COMPREPLY < <(compgen -W "prefix group raw none" -- "$cur")
      return ;;
    --color | --colour)
      mapfile -t COMPREPLY < <(compgen -W "auto always never" -- "$cur")
      return ;;
    --log-dir)
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -d -- "$cur")
      return ;;
    --report | --events | --junit | --trace | --timeline)
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
      return ;;
    --each)
      return ;; # a shell command: nothing to offer
  esac
  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
    return
  fi
  # --each takes items (often files), --stream a JSON Lines file: no names.
  local w
  for w in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    if [[ $w == --each || $w == --stream ]]; then
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
      return
    fi
  done
  local file; file=$(_corun_jobfile)
  if [[ -z $file ]]; then
    # The job file: JSON files, and folders to look in.
    compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <(compgen -f -X '!*.json' -- "$cur"; compgen -d -- "$cur")
    return
  fi
  [[ $file == - || ! -r $file ]] && return
  local names
  names=$("${COMP_WORDS[0]/#\~/$HOME}" --list -- "$file" 2>/dev/null) || return
  mapfile -t COMPREPLY < <(compgen -W "$names" -- "$cur")
}

complete -F _corun corun

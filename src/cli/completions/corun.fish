# fish completion for corun(1): options, their values, the job file, and
# the names of its jobs (read with `corun --list JOBFILE`).
# Installed as share/fish/vendor_completions.d/corun.fish.

# The job file on the line: the first word that is neither an option nor
# an option's value; nothing (and false) when there is none yet.
function __corun_jobfile
    set -l words (commandline -opc)
    set -e words[1]
    set -l skip 0
    set -l rest 0
    for w in $words
        if test $skip = 1
            set skip 0
            continue
        end
        if test $rest = 1
            echo $w
            return 0
        end
        switch $w
            case -j --jobs --halt --timeout --output --log-dir --report --events --junit --trace --timeline --color --colour --each
                set skip 1
            case --
                set rest 1
            case '-?*'
            case '*'
                echo $w
                return 0
        end
    end
    return 1
end

# The names of its jobs (none with --each or --stream: items or JSON Lines).
function __corun_jobs
    contains -- --each (commandline -opc); and return
    contains -- --stream (commandline -opc); and return
    set -l file (__corun_jobfile); or return
    string match -q -- '~*' $file; and set file $HOME(string sub -s 2 -- $file)
    test "$file" != - -a -r "$file"; or return
    set -l cmd (commandline -opc)[1]
    command -q $cmd; or return
    command $cmd --list -- $file 2>/dev/null
end

complete -c corun -f
complete -c corun -s j -l jobs -x -a '1 2 4 8 16' -d 'Run at most N jobs at once'
complete -c corun -l halt -x -a 'never fail-fast soon,fail= now,fail= soon,success= now,success=' -d 'What happens after failures or successes'
complete -c corun -l timeout -x -a '30s 1m 5m 10m 30m 1h' -d 'Timeout for jobs that set none'
complete -c corun -l output -x -a 'prefix\t"each line as NAME | line" group\t"a job\'s output when it ends" raw\t"bytes as they come" none\t"nothing"' -d 'How the jobs\' output is shown'
complete -c corun -l log-dir -x -a '(__fish_complete_directories)' -d 'Each job\'s full output in DIR'
complete -c corun -l report -r -F -d 'The results as JSON'
complete -c corun -l events -r -F -d 'JSON Lines events (- for stdout)'
complete -c corun -l junit -r -F -d 'JUnit XML, one testcase per job'
complete -c corun -l trace -r -F -d 'Chrome trace-event JSON'
complete -c corun -l timeline -r -F -d 'An SVG picture of the run'
complete -c corun -l check -d 'Validate the job file'
complete -c corun -l list -d 'The jobs\' names, in an order that respects needs'
complete -c corun -l dry-run -d 'What would run, without running'
complete -c corun -l graph -d 'The dependency graph in Graphviz DOT'
complete -c corun -l stream -d 'The job file is JSON Lines, run as it arrives'
complete -c corun -l each -x -d 'One job per item ({} in the command), xargs-style'
complete -c corun -l color -l colour -x -a 'auto always never' -d 'When to use colours'
complete -c corun -s q -l quiet -d 'No status line and no summary'
complete -c corun -s h -l help -d 'Show the options'
complete -c corun -s V -l version -d 'Show the version'
# The job file first, then job names.
complete -c corun -n 'not __corun_jobfile' -k -a '(__fish_complete_suffix .json)'
complete -c corun -n '__corun_jobfile' -a '(__corun_jobs)' -d 'Job'
# --each: its items are often files.
complete -c corun -n '__fish_seen_argument -l each' -F

# completion/gpcheck.bash - bash completion for gpcheck(1).
#
# Completes the commands, each command's options, report formats for -o,
# files and folders where an option takes a path, probe names (-p) and
# tags (--tag, --skip-tag) from `gpcheck list`, environments from the
# conf.d subfolders, plugin names from `gpcheck plugins`, the KEY= options
# of `gpcheck probe PLUGIN` from the plugin's schema, and the command after
# `run --` and `wait --`. Probe names and tags honour -c/--config,
# --conf-dir, -e/--env, --env-file and --plugin-dir given earlier on the
# command line.
#
# Installed as share/bash-completion/completions/gpcheck, where
# bash-completion loads it on first use; or source it from ~/.bashrc. It
# needs nothing from bash-completion, but uses its _command_offset for the
# command after `--` when that is available.

_gpcheck_formats="text json jsonl junit tap prometheus nagios pushgateway github"
_gpcheck_policy_keys="timeout warmup warmup_interval attempts delay backoff
    max_delay jitter success_threshold severity warn_if fail_if
    retry_on_threshold interval max_age"

# The options each command takes (the table cli_opts in core/main.c: a
# command refuses the others).
_gpcheck_options() {
    local config="-c --config --conf-dir -e --env --env-file --plugin-dir"
    local select="-p --probe --tag --skip-tag"
    local bypass="--bypass-reason --bypass-expires"
    local report="--deadline -o --output --nagios --exit-codes --no-progress
        --heartbeat --color -q --quiet -v --verbose --explain"
    local history="--history --no-history --supervise --recheck"
    local query="-c --config -e --env -p --probe -o --output --history --since"
    case $1 in
    run | validate) echo "$config $select -j --jobs $report $bypass $history --gate
        --gate-token-file --gate-fallback -h --help" ;;
    history) echo "$query -n --limit -h --help" ;;
    stats) echo "$query --fail-below --html -h --help" ;;
    serve) echo "$config $select -j --jobs -v --verbose --listen --token-file
        --tls-cert --tls-key --insecure-listen --enable-reload --log-format
        --grace --min-spacing --max-connections --max-per-ip --max-waits
        --max-waits-per-ip --connection-timeout -h --help" ;;
    list) echo "$config $select -h --help" ;;
    plugins) echo "-c --config --plugin-dir -h --help" ;;
    probe) echo "--plugin-dir -e --env $report -h --help" ;;
    wait) echo "--plugin-dir --timeout --warmup --interval --attempts
        --exit-codes -h --help" ;;
    *) echo "-h --help" ;;
    esac
}

# COMP_WORDS with the pieces bash splits at '=' and ':' glued back
# together ("--env" "=" "staging" -> "--env=staging", "junit" ":" "r" ->
# "junit:r"), into the caller's `words` and `cword`.
_gpcheck_words() {
    local i tok
    words=()
    cword=0
    for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
        tok=${COMP_WORDS[i]}
        if ((i > 1)) && [[ $tok == [=:] || ${COMP_WORDS[i - 1]} == [=:] ]]; then
            words[${#words[@]} - 1]+=$tok
        else
            words+=("$tok")
        fi
        ((i == COMP_CWORD)) && cword=$((${#words[@]} - 1))
    done
    if ((COMP_CWORD >= ${#COMP_WORDS[@]})); then
        words+=("")
        cword=$((${#words[@]} - 1))
    fi
}

# Bash replaces only the part of the word after its last '=' or ':' (when
# they are in COMP_WORDBREAKS): drop what comes before from every reply.
_gpcheck_ltrim() {
    local cur=$1 c j pre="" i
    for ((j = ${#cur} - 1; j >= 0; j--)); do
        c=${cur:j:1}
        if [[ ($c == "=" || $c == ":") && ${COMP_WORDBREAKS-} == *"$c"* ]]; then
            pre=${cur:0:j+1}
            break
        fi
    done
    [[ -n $pre ]] || return 0
    for i in "${!COMPREPLY[@]}"; do
        COMPREPLY[i]=${COMPREPLY[i]#"$pre"}
    done
}

# A leading ~ as the shell would expand it (words arrive unexpanded).
_gpcheck_tilde() {
    # shellcheck disable=SC2088 # matching a literal "~/", not expanding it
    case $1 in
    "~") printf '%s\n' "$HOME" ;;
    "~/"*) printf '%s\n' "$HOME/${1#"~/"}" ;;
    *) printf '%s\n' "$1" ;;
    esac
}

# Reply with the words of $2 (a list) that start with $1.
_gpcheck_reply() {
    local IFS=$' \t\n'
    mapfile -t COMPREPLY < <(compgen -W "$2" -- "$1")
}

# Reply with paths: $1 the prefix typed, $2 "-f" (files) or "-d" (folders).
_gpcheck_paths() {
    compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <(compgen "$2" -- "$1")
}

# The gpcheck being completed, and the configuration options given before
# the word under the cursor, into the caller's `gp` and `cfg_args`.
_gpcheck_context() {
    local i w v
    gp=$(_gpcheck_tilde "${words[0]}")
    [[ $gp == */* && -x $gp ]] || gp=gpcheck
    cfg_args=()
    for ((i = 1; i < cword; i++)); do
        w=${words[i]}
        [[ $w == -- ]] && break
        v=
        case $w in
        -c | --config | --conf-dir | -e | --env | --env-file | --plugin-dir)
            ((i + 1 < cword)) || continue
            v=${words[i + 1]}
            ((i++))
            ;;
        --config=* | --conf-dir=* | --env=* | --env-file=* | --plugin-dir=*)
            v=${w#*=}
            w=${w%%=*}
            ;;
        -c?* | -e?*)
            v=${w:2}
            w=${w:0:2}
            ;;
        *) continue ;;
        esac
        cfg_args+=("$w" "$(_gpcheck_tilde "$v")")
    done
}

# Run gpcheck quietly and briefly: completion must never hang a shell.
_gpcheck_query() {
    if type -P timeout >/dev/null; then
        timeout 5 "$gp" "$@" 2>/dev/null </dev/null
    else
        "$gp" "$@" 2>/dev/null </dev/null
    fi
}

# Probe names: `gpcheck list` prints each probe as a line "[NAME]  plugin ...".
_gpcheck_probe_names() {
    _gpcheck_query list "${cfg_args[@]}" |
        sed -n 's/^\[\([A-Za-z0-9_.-]*\)\].*/\1/p'
}

# Tags: the "    tags: a, b" lines of `gpcheck list`.
_gpcheck_tags() {
    _gpcheck_query list "${cfg_args[@]}" |
        sed -n 's/^ *tags: *//p' | tr ',' '\n' | tr -d ' ' | sort -u
}

# The configuration options `gpcheck plugins` takes, of those given, into
# the caller's `plugin_args`.
_gpcheck_plugin_args() {
    local i
    plugin_args=()
    for ((i = 0; i < ${#cfg_args[@]}; i += 2)); do
        case ${cfg_args[i]} in
        -c | --config | --plugin-dir)
            plugin_args+=("${cfg_args[i]}" "${cfg_args[i + 1]}")
            ;;
        esac
    done
}

# Plugin names: the first column of `gpcheck plugins`.
_gpcheck_plugin_names() {
    local -a plugin_args
    _gpcheck_plugin_args
    _gpcheck_query plugins "${plugin_args[@]}" | awk '{ print $1 }'
}

# Environments: the subfolders of the conf.d folder the command line uses.
_gpcheck_envs() {
    local dir="" main="" i d
    for ((i = 0; i < ${#cfg_args[@]}; i += 2)); do
        case ${cfg_args[i]} in
        --conf-dir) dir=${cfg_args[i + 1]} ;;
        -c | --config) main=${cfg_args[i + 1]} ;;
        esac
    done
    [[ -z $main ]] && main=${GPCHECK_CONFIG:-}
    if [[ -z $dir ]]; then
        if [[ -n $main && $main == */* ]]; then
            dir=${main%/*}/conf.d
        else
            dir=conf.d
        fi
    fi
    for d in "$dir"/*/; do
        [[ -d $d ]] && d=${d%/} && printf '%s\n' "${d##*/}"
    done
}

# `gpcheck probe PLUGIN KEY=VALUE`: the plugin's option keys (the OPTIONS
# block of `gpcheck plugins PLUGIN`) and the policy keys, as "KEY=", or
# the values of a KEY with choices or of a boolean one.
_gpcheck_probe_keys() {
    local plugin=$1 cur=$2 schema
    local -a plugin_args
    _gpcheck_plugin_args
    schema=$(_gpcheck_query plugins "${plugin_args[@]}" "$plugin")
    if [[ $cur == *=* ]]; then
        local key=${cur%%=*} values=""
        case $key in
        backoff) values="exponential fixed" ;;
        severity) values="required optional" ;;
        retry_on_threshold) values="true false" ;;
        *)
            values=$(awk -v key="$key" '
                /^OPTIONS/ { on = 1; next }
                /^METRICS/ { on = 0 }
                on && /^  [a-z]/ {
                    last = $1
                    if (last == key && $2 == "boolean") { print "true false"; exit }
                }
                on && last == key && match($0, /one of [^,)]*/) {
                    s = substr($0, RSTART + 7, RLENGTH - 7)
                    gsub(/\|/, " ", s); print s; exit
                }' <<<"$schema")
            ;;
        esac
        local IFS=$' \t\n' v
        COMPREPLY=()
        for v in $values; do
            [[ $key=$v == "$cur"* ]] && COMPREPLY+=("$key=$v")
        done
        _gpcheck_ltrim "$cur"
        return
    fi
    local keys
    # A family (query.NAME) completes to its prefix "query.": NAME is the
    # user's to choose.
    keys=$(awk '/^OPTIONS/ { on = 1; next } /^METRICS/ { on = 0 }
                on && /^  [a-z]/ { k = $1; if (sub(/\.NAME$/, ".", k)) print k;
                                   else print k "=" }' <<<"$schema")
    local k
    for k in $_gpcheck_policy_keys; do keys+=$'\n'"$k="; done
    _gpcheck_reply "$cur" "$keys"
    compopt -o nospace 2>/dev/null
}

_gpcheck() {
    local words cword gp cfg_args
    _gpcheck_words
    local cur=${words[cword]} prev=""
    ((cword > 0)) && prev=${words[cword - 1]}
    COMPREPLY=()

    # The command comes first; -h and -V may stand in for it.
    if ((cword == 1)); then
        if [[ $cur == -* ]]; then
            _gpcheck_reply "$cur" "-h --help -V --version"
        else
            _gpcheck_reply "$cur" "run validate list plugins probe wait serve history stats version help"
        fi
        return 0
    fi
    local cmd=${words[1]}
    if [[ $cmd == help ]]; then
        ((cword == 2)) && _gpcheck_reply "$cur" "run validate list plugins probe wait serve history stats version"
        return 0
    fi

    # After `run --`: the command to run, then its arguments (indexes in
    # COMP_WORDS, which _command_offset works on).
    local i dashdash=0
    for ((i = 2; i < COMP_CWORD; i++)); do
        if [[ ${COMP_WORDS[i]} == -- ]]; then
            dashdash=$i
            break
        fi
    done
    if ((dashdash)); then
        [[ $cmd == run || $cmd == wait ]] || return 0
        if declare -F _command_offset >/dev/null; then
            _command_offset $((dashdash + 1))
        elif ((COMP_CWORD == dashdash + 1)); then
            mapfile -t COMPREPLY < <(compgen -c -- "$cur" | sort -u)
        else
            _gpcheck_paths "$cur" -f
        fi
        return 0
    fi

    _gpcheck_context

    # --opt=VALUE in one word.
    local opt=$prev value=$cur
    if [[ $cur == --*=* ]]; then
        opt=${cur%%=*}
        value=${cur#*=}
    fi

    case $opt in
    -c | --config | --env-file | --history | --html)
        _gpcheck_paths "$value" -f
        ;;
    --conf-dir | --plugin-dir)
        _gpcheck_paths "$value" -d
        ;;
    -e | --env)
        _gpcheck_reply "$value" "$(_gpcheck_envs)"
        ;;
    -p | --probe)
        _gpcheck_reply "$value" "$(_gpcheck_probe_names)"
        ;;
    --tag | --skip-tag)
        _gpcheck_reply "$value" "$(_gpcheck_tags)"
        ;;
    -o | --output)
        if [[ $value == *:* ]]; then
            # FMT:PATH: the path part is a file.
            local fmt=${value%%:*}
            _gpcheck_paths "${value#*:}" -f
            for i in "${!COMPREPLY[@]}"; do
                COMPREPLY[i]=$fmt:${COMPREPLY[i]}
            done
        else
            _gpcheck_reply "$value" "$_gpcheck_formats"
        fi
        ;;
    --exit-codes)
        _gpcheck_reply "$value" "gpcheck docker"
        ;;
    --color)
        _gpcheck_reply "$value" "auto always never"
        ;;
    --gate-fallback)
        _gpcheck_reply "$value" "local none"
        ;;
    --log-format)
        _gpcheck_reply "$value" "text json"
        ;;
    --gate-token-file | --token-file | --tls-cert | --tls-key)
        _gpcheck_paths "$value" -f
        ;;
    -j | --jobs | --deadline | --heartbeat | --bypass-reason | --bypass-expires | -n | \
        --limit | --since | --fail-below | --gate | \
        --listen | --grace | --min-spacing | --max-connections | \
        --max-per-ip | --max-waits | --max-waits-per-ip | --connection-timeout)
        return 0
        ;;
    *)
        opt=
        ;;
    esac
    if [[ -n $opt ]]; then
        # Replies are for the whole word: put back "--opt=" and trim what
        # bash does not replace.
        if [[ $cur == --*=* ]]; then
            for i in "${!COMPREPLY[@]}"; do
                COMPREPLY[i]=${cur%%=*}=${COMPREPLY[i]}
            done
        fi
        _gpcheck_ltrim "$cur"
        return 0
    fi

    if [[ $cur == -* ]]; then
        _gpcheck_reply "$cur" "$(_gpcheck_options "$cmd")"
        return 0
    fi

    # Positional arguments: the words so far that are not options or their
    # values.
    local -a args=()
    for ((i = 2; i < cword; i++)); do
        case ${words[i]} in
        -c | --config | --conf-dir | -e | --env | --env-file | --plugin-dir | \
            -p | --probe | --tag | --skip-tag | -j | --jobs | --deadline | \
            -o | --output | --bypass-reason | --bypass-expires | --exit-codes | \
            --history | -n | --limit | --since | --fail-below | --html | --timeout | --warmup | --interval | --attempts | --heartbeat | --color | \
            --gate | --gate-token-file | --gate-fallback | --listen | \
            --token-file | --tls-cert | --tls-key | --log-format | --grace | \
            --min-spacing | \
            --max-connections | --max-per-ip | --max-waits | --max-waits-per-ip | \
            --connection-timeout)
            ((i++))
            ;;
        -*) ;;
        *) args+=("${words[i]}") ;;
        esac
    done

    case $cmd in
    run | wait)
        _gpcheck_reply "$cur" "--"
        ;;
    plugins)
        ((${#args[@]} == 0)) || return 0
        if [[ $cur == */* ]]; then
            _gpcheck_paths "$cur" -f
        else
            _gpcheck_reply "$cur" "$(_gpcheck_plugin_names)"
        fi
        ;;
    probe)
        if ((${#args[@]} == 0)); then
            if [[ $cur == */* ]]; then
                _gpcheck_paths "$cur" -f
            else
                _gpcheck_reply "$cur" "$(_gpcheck_plugin_names)"
            fi
        else
            _gpcheck_probe_keys "${args[0]}" "$cur"
        fi
        ;;
    esac
    return 0
}

complete -F _gpcheck gpcheck

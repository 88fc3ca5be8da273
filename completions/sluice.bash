# bash completion for sluice. Source it, or install it as
# /usr/share/bash-completion/completions/sluice. Mirrors the CLI11 definitions in cmd/.

_sluice() {
    local cur prev
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    COMPREPLY=()
    # --opt=value: bash splits it at "=" (COMP_WORDBREAKS).
    if [[ $cur == = ]]; then
        cur=""
    elif [[ $prev == = && COMP_CWORD -ge 2 ]]; then
        prev=${COMP_WORDS[COMP_CWORD-2]}
    fi

    # The command path: the words before the cursor that are not options or option values.
    local i w cmd="" sub=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case $w in
            -c|--config|--listen|--to|--admin|--workers|--access-log|--log-level|--format|--report|--seed|--sluice|--control|--db|--by|--since|--until)
                [[ ${COMP_WORDS[i+1]} == = ]] && ((i++))
                ((i++)); continue ;;
            -m|--model|--encoding|-f|--file|-e|--expect|-X|--method|-H|--header|-d|--body|--max-redirects|--http-version|--cacert|--cert|--key|--key-password-env|--sni|--service|--send|--receive|--probe-timeout|--connect-timeout|--repeat|--interval|--timeout|--success-threshold|--concurrency|-a|--slow|--cert-warning)
                [[ ${COMP_WORDS[i+1]} == = ]] && ((i++))
                ((i++)); continue ;;
            =) continue ;;
            -*) continue ;;
        esac
        if [[ -z $cmd ]]; then
            cmd=$w
        elif [[ ($cmd == config || $cmd == chaos || $cmd == tokens) && -z $sub ]]; then
            sub=$w
        fi
    done

    local serve_opts="-h --help -c --config --listen --to --admin --workers --access-log --log-level --watch --demo"

    case $cmd in
        "")
            COMPREPLY=($(compgen -W "serve config chaos probe diagnose tokens usage version -h --help --version" -- "$cur"))
            ;;
        serve)
            case $prev in
                -c|--config)
                    _sluice_files "$cur"; return 0 ;;
                --listen)
                    COMPREPLY=($(compgen -W "127.0.0.1:8080 0.0.0.0:8080 :8080 127.0.0.1:0" -- "$cur")); return 0 ;;
                --to)
                    COMPREPLY=($(compgen -W "http:// https://" -- "$cur"))
                    compopt -o nospace 2>/dev/null
                    return 0 ;;
                --admin)
                    COMPREPLY=($(compgen -W "off 127.0.0.1:9901" -- "$cur")); return 0 ;;
                --workers)
                    COMPREPLY=($(compgen -W "0 1 2 4 8" -- "$cur")); return 0 ;;
                --access-log)
                    COMPREPLY=($(compgen -W "off stdout stderr" -- "$cur"))
                    _sluice_files "$cur" append
                    return 0 ;;
                --log-level)
                    COMPREPLY=($(compgen -W "error warn info debug" -- "$cur")); return 0 ;;
            esac
            COMPREPLY=($(compgen -W "$serve_opts" -- "$cur"))
            ;;
        config)
            case $sub in
                "")
                    COMPREPLY=($(compgen -W "validate example -h --help" -- "$cur")) ;;
                validate)
                    if [[ $cur == -* ]]; then
                        COMPREPLY=($(compgen -W "-h --help" -- "$cur"))
                    else
                        _sluice_files "$cur"
                    fi ;;
                example)
                    COMPREPLY=($(compgen -W "-h --help" -- "$cur")) ;;
            esac
            ;;
        chaos)
            case $sub in
                "")
                    COMPREPLY=($(compgen -W "run mock -h --help" -- "$cur")) ;;
                run)
                    case $prev in
                        --format)
                            COMPREPLY=($(compgen -W "text json junit" -- "$cur")); return 0 ;;
                        --report)
                            if [[ $cur == *:* ]]; then
                                # FORMAT:PATH: complete the path after the colon (bash splits
                                # words at ":" too, so only the part after it is replaced).
                                local fmt=${cur%%:*}
                                _sluice_files "${cur#*:}"
                                [[ $COMP_WORDBREAKS == *:* ]] || COMPREPLY=("${COMPREPLY[@]/#/$fmt:}")
                            else
                                COMPREPLY=($(compgen -W "text: json: junit:" -- "$cur"))
                                compopt -o nospace 2>/dev/null
                            fi
                            return 0 ;;
                        :)
                            # --report junit:<TAB> with ":" in COMP_WORDBREAKS.
                            if [[ ${COMP_WORDS[COMP_CWORD-3]} == --report ]]; then
                                _sluice_files "$cur"; return 0
                            fi ;;
                        --seed)
                            COMPREPLY=($(compgen -W "1 42" -- "$cur")); return 0 ;;
                        --sluice)
                            _sluice_files "$cur"; return 0 ;;
                    esac
                    if [[ $cur == : && ${COMP_WORDS[COMP_CWORD-2]} == --report ]]; then
                        # --report junit:<TAB>: the ":" is the word being completed.
                        _sluice_files ""
                        COMPREPLY=("${COMPREPLY[@]/#/:}")
                        return 0
                    fi
                    if [[ $cur == -* ]]; then
                        COMPREPLY=($(compgen -W "-h --help --format --report --seed --sluice" -- "$cur"))
                    else
                        _sluice_files "$cur"
                    fi ;;
                mock)
                    case $prev in
                        -c|--config)
                            _sluice_files "$cur"; return 0 ;;
                        --control)
                            COMPREPLY=($(compgen -W "127.0.0.1:0 127.0.0.1:7000" -- "$cur")); return 0 ;;
                    esac
                    COMPREPLY=($(compgen -W "-h --help -c --config --control" -- "$cur")) ;;
            esac
            ;;
        probe)
            case $prev in
                -f|--file|-c|--config|--cacert|--cert|--key)
                    _sluice_files "$cur"; return 0 ;;
                -d|--body)
                    [[ $cur == @* ]] && { _sluice_files "${cur#@}"; COMPREPLY=("${COMPREPLY[@]/#/@}"); }
                    return 0 ;;
                -e|--expect)
                    COMPREPLY=($(compgen -W "'status == 200' 'status in 200..299' 'latency < 300ms' 'cert.expires_in > 14d' 'grpc.status == SERVING'" -- "$cur")); return 0 ;;
                -X|--method)
                    COMPREPLY=($(compgen -W "GET HEAD POST PUT DELETE OPTIONS PATCH" -- "$cur")); return 0 ;;
                --http-version)
                    COMPREPLY=($(compgen -W "1.1 2" -- "$cur")); return 0 ;;
                --format)
                    COMPREPLY=($(compgen -W "text json junit prom" -- "$cur")); return 0 ;;
                --report)
                    if [[ $cur == *:* ]]; then
                        local fmt=${cur%%:*}
                        _sluice_files "${cur#*:}"
                        [[ $COMP_WORDBREAKS == *:* ]] || COMPREPLY=("${COMPREPLY[@]/#/$fmt:}")
                    else
                        COMPREPLY=($(compgen -W "text: json: junit: prom:" -- "$cur"))
                        compopt -o nospace 2>/dev/null
                    fi
                    return 0 ;;
                :)
                    if [[ ${COMP_WORDS[COMP_CWORD-3]} == --report ]]; then
                        _sluice_files "$cur"; return 0
                    fi ;;
                --probe-timeout|--connect-timeout|--interval|--timeout)
                    COMPREPLY=($(compgen -W "300ms 1s 5s 30s 2m" -- "$cur")); return 0 ;;
                --repeat|--success-threshold|--concurrency|--max-redirects)
                    COMPREPLY=($(compgen -W "1 2 3 5 10 50" -- "$cur")); return 0 ;;
                -H|--header|--key-password-env|--sni|--service|--send|--receive)
                    return 0 ;;
            esac
            if [[ $cur == : && ${COMP_WORDS[COMP_CWORD-2]} == --report ]]; then
                _sluice_files ""
                COMPREPLY=("${COMPREPLY[@]/#/:}")
                return 0
            fi
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "-h --help -f --file -c --config -e --expect -X --method -H --header -d --body -L --follow-redirects --max-redirects --http-version --cacert --cert --key --key-password-env --sni -k --insecure --service --send --receive --probe-timeout --connect-timeout --repeat --interval --wait --timeout --success-threshold --concurrency --format --report" -- "$cur"))
            else
                COMPREPLY=($(compgen -W "http:// https:// tcp:// grpc:// grpcs:// dns://" -- "$cur"))
                compopt -o nospace 2>/dev/null
            fi
            ;;
        tokens)
            if [[ -z $sub ]]; then
                COMPREPLY=($(compgen -W "count -h --help" -- "$cur"))
                return 0
            fi
            case $prev in
                -e|--encoding)
                    COMPREPLY=($(compgen -W "cl100k_base o200k_base" -- "$cur")); return 0 ;;
                -m|--model)
                    COMPREPLY=($(compgen -W "gpt-4o gpt-4o-mini gpt-4.1 gpt-5 o3 o4-mini gpt-4 gpt-3.5-turbo claude-sonnet-4-5 gemini-2.5-pro" -- "$cur")); return 0 ;;
                --format)
                    COMPREPLY=($(compgen -W "text json" -- "$cur")); return 0 ;;
            esac
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "-h --help -e --encoding -m --model --chat --format --ids" -- "$cur"))
            else
                _sluice_files "$cur"
            fi
            ;;
        diagnose)
            case $prev in
                -c|--config)
                    _sluice_files "$cur"; return 0 ;;
                -a|--admin)
                    COMPREPLY=($(compgen -W "http://127.0.0.1:9901" -- "$cur")); return 0 ;;
                --format)
                    COMPREPLY=($(compgen -W "text json junit" -- "$cur")); return 0 ;;
                --report)
                    if [[ $cur == *:* ]]; then
                        local fmt=${cur%%:*}
                        _sluice_files "${cur#*:}"
                        [[ $COMP_WORDBREAKS == *:* ]] || COMPREPLY=("${COMPREPLY[@]/#/$fmt:}")
                    else
                        COMPREPLY=($(compgen -W "text: json: junit:" -- "$cur"))
                        compopt -o nospace 2>/dev/null
                    fi
                    return 0 ;;
                :)
                    if [[ ${COMP_WORDS[COMP_CWORD-3]} == --report ]]; then
                        _sluice_files "$cur"; return 0
                    fi ;;
                --timeout|--slow)
                    COMPREPLY=($(compgen -W "300ms 1s 3s 5s 30s" -- "$cur")); return 0 ;;
                --cert-warning)
                    COMPREPLY=($(compgen -W "7d 14d 30d" -- "$cur")); return 0 ;;
                --concurrency)
                    COMPREPLY=($(compgen -W "1 5 10 50" -- "$cur")); return 0 ;;
            esac
            if [[ $cur == : && ${COMP_WORDS[COMP_CWORD-2]} == --report ]]; then
                _sluice_files ""
                COMPREPLY=("${COMPREPLY[@]/#/:}")
                return 0
            fi
            COMPREPLY=($(compgen -W "-h --help -c --config -a --admin --timeout --concurrency --slow --cert-warning --format --report" -- "$cur"))
            ;;
        usage)
            case $prev in
                --db|-c|--config)
                    _sluice_files "$cur"; return 0 ;;
                --by)
                    COMPREPLY=($(compgen -W "key model day alias provider" -- "$cur")); return 0 ;;
                --since|--until)
                    COMPREPLY=($(compgen -W "1d 7d 30d 12h $(date -u +%Y-%m-01 2>/dev/null)" -- "$cur")); return 0 ;;
                --key)
                    return 0 ;;
                --format)
                    COMPREPLY=($(compgen -W "text json csv" -- "$cur")); return 0 ;;
            esac
            COMPREPLY=($(compgen -W "-h --help --db -c --config --by --since --until --key --format" -- "$cur"))
            ;;
        version)
            COMPREPLY=($(compgen -W "-h --help" -- "$cur"))
            ;;
    esac
    return 0
}

# File and directory names for $1; with "append", added to COMPREPLY instead of replacing it.
_sluice_files() {
    local IFS=$'\n'
    local -a found
    found=($(compgen -f -- "$1"))
    if [[ $2 == append ]]; then
        COMPREPLY+=("${found[@]}")
    else
        COMPREPLY=("${found[@]}")
    fi
    compopt -o filenames 2>/dev/null
    return 0
}

complete -F _sluice sluice

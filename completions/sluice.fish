# fish completion for sluice. Install as ~/.config/fish/completions/sluice.fish (or the
# vendor completions directory). Mirrors the CLI11 definitions in cmd/.

function __sluice_no_command
    not __fish_seen_subcommand_from serve config chaos probe diagnose tokens usage version
end

function __sluice_config_needs_command
    __fish_seen_subcommand_from config; and not __fish_seen_subcommand_from validate example
end

function __sluice_chaos_needs_command
    __fish_seen_subcommand_from chaos; and not __fish_seen_subcommand_from run mock
end

# --report FORMAT:PATH: the formats first, then paths after the colon.
function __sluice_report_spec
    set -l tok (commandline -ct)
    set -l tok (string replace -r -- '^--report=' '' $tok)
    if string match -q -- '*:*' $tok
        set -l fmt (string split -m 1 : -- $tok)[1]
        for f in (__fish_complete_path (string split -m 1 : -- $tok)[2])
            echo $fmt:$f
        end
    else
        printf '%s\t%s\n' text: 'Summary table' json: 'JSON document' junit: 'JUnit XML'
    end
end

complete -c sluice -f

# sluice
complete -c sluice -n __sluice_no_command -s h -l help -d 'Print the commands and exit'
complete -c sluice -n __sluice_no_command -l version -d 'Print the version and exit'
complete -c sluice -n __sluice_no_command -a serve -d 'Run the gateway'
complete -c sluice -n __sluice_no_command -a config -d 'Check or generate configuration files'
complete -c sluice -n __sluice_no_command -a chaos -d 'Run chaos drills, or their mocks standalone'
complete -c sluice -n __sluice_no_command -a probe -d 'Probe HTTP(S), TCP, gRPC and DNS targets'
complete -c sluice -n __sluice_no_command -a diagnose -d 'Explain why there is no healthy upstream'
complete -c sluice -n __sluice_no_command -a tokens -d 'Count tokens exactly, as the providers bill them'
complete -c sluice -n __sluice_no_command -a usage -d 'Sum the usage ledger by key, model, day, alias or provider'
complete -c sluice -n __sluice_no_command -a version -d 'Print the version and build details'

# sluice serve
set -l serve '__fish_seen_subcommand_from serve'
complete -c sluice -n $serve -s h -l help -d 'Print the options and exit'
complete -c sluice -n $serve -s c -l config -r -F -d 'Config file (default ./sluice.toml)'
complete -c sluice -n $serve -l listen -x -a '127.0.0.1:8080 0.0.0.0:8080 :8080 127.0.0.1:0' -d 'HOST:PORT to listen on'
complete -c sluice -n $serve -l to -x -a 'http:// https://' -d 'Upstream URLs for quick mode (URL[,URL...])'
complete -c sluice -n $serve -l admin -x -a 'off 127.0.0.1:9901' -d 'Admin listener HOST:PORT, or off'
complete -c sluice -n $serve -l workers -x -d 'Worker threads, 0-1024 (0: one per core)'
complete -c sluice -n $serve -l access-log -r -F -a 'off\t"No access log" stdout\t"Standard output (default)" stderr\t"Standard error"' -d 'Access log: off, stdout, stderr or a file'
complete -c sluice -n $serve -l log-level -x -a 'error warn info debug' -d 'Event log level'
complete -c sluice -n $serve -l watch -d 'Reload when the config file changes'
complete -c sluice -n $serve -l demo -d 'Run in front of built-in mock upstreams'

# sluice config
complete -c sluice -n __sluice_config_needs_command -s h -l help -d 'Print the usage and exit'
complete -c sluice -n __sluice_config_needs_command -a validate -d 'Check config files'
complete -c sluice -n __sluice_config_needs_command -a example -d 'Print a commented example config'
complete -c sluice -n '__fish_seen_subcommand_from config; and __fish_seen_subcommand_from validate' -F -d 'Config file'
complete -c sluice -n '__fish_seen_subcommand_from config; and __fish_seen_subcommand_from validate example' -s h -l help -d 'Print the usage and exit'

# sluice chaos
complete -c sluice -n __sluice_chaos_needs_command -s h -l help -d 'Print the usage and exit'
complete -c sluice -n __sluice_chaos_needs_command -a run -d 'Run scenario files and report the verdict'
complete -c sluice -n __sluice_chaos_needs_command -a mock -d 'Run the mocks and proxies of a scenario standalone'
set -l chaos_run '__fish_seen_subcommand_from chaos; and __fish_seen_subcommand_from run'
complete -c sluice -n $chaos_run -F -d 'Scenario file'
complete -c sluice -n $chaos_run -s h -l help -d 'Print the usage and exit'
complete -c sluice -n $chaos_run -l format -x -a 'text json junit' -d 'Report on stdout'
complete -c sluice -n $chaos_run -l report -x -a '(__sluice_report_spec)' -d 'Also write a report, FORMAT:PATH'
complete -c sluice -n $chaos_run -l seed -x -d 'Seed for every scenario'
complete -c sluice -n $chaos_run -l sluice -r -F -d 'The sluice binary to start as the gateway'
set -l chaos_mock '__fish_seen_subcommand_from chaos; and __fish_seen_subcommand_from mock'
complete -c sluice -n $chaos_mock -s h -l help -d 'Print the usage and exit'
complete -c sluice -n $chaos_mock -s c -l config -r -F -d 'Scenario file with mocks and proxies'
complete -c sluice -n $chaos_mock -l control -x -a '127.0.0.1:0 127.0.0.1:7000' -d 'Control API HOST:PORT (loopback)'

# sluice probe
function __sluice_probe_report_spec
    set -l tok (commandline -ct)
    set -l tok (string replace -r -- '^--report=' '' $tok)
    if string match -q -- '*:*' $tok
        set -l fmt (string split -m 1 : -- $tok)[1]
        for f in (__fish_complete_path (string split -m 1 : -- $tok)[2])
            echo $fmt:$f
        end
    else
        printf '%s\t%s\n' text: 'Summary table' json: 'JSON document' junit: 'JUnit XML' prom: 'Prometheus textfile'
    end
end
set -l probe '__fish_seen_subcommand_from probe'
complete -c sluice -n $probe -a 'http:// https:// tcp:// grpc:// grpcs:// dns://' -d 'Target'
complete -c sluice -n $probe -s h -l help -d 'Print the options and exit'
complete -c sluice -n $probe -s f -l file -r -F -d 'Targets file (TOML)'
complete -c sluice -n $probe -s c -l config -r -F -d 'Gateway config: probe every endpoint'
complete -c sluice -n $probe -s e -l expect -x -a "'status == 200' 'latency < 300ms' 'cert.expires_in > 14d' 'grpc.status == SERVING'" -d 'Condition (repeatable)'
complete -c sluice -n $probe -s X -l method -x -a 'GET HEAD POST PUT DELETE OPTIONS PATCH' -d 'HTTP method'
complete -c sluice -n $probe -s H -l header -x -d 'Request header "Name: value"'
complete -c sluice -n $probe -s d -l body -x -d 'Request body, or @FILE'
complete -c sluice -n $probe -s L -l follow-redirects -d 'Follow redirects'
complete -c sluice -n $probe -l max-redirects -x -d 'Most redirects to follow (default 10)'
complete -c sluice -n $probe -l http-version -x -a '1.1 2' -d 'HTTP version to speak'
complete -c sluice -n $probe -l cacert -r -F -d 'CA certificates (PEM)'
complete -c sluice -n $probe -l cert -r -F -d 'Client certificate (PEM)'
complete -c sluice -n $probe -l key -r -F -d 'Client certificate key (PEM)'
complete -c sluice -n $probe -l key-password-env -x -a '(set -n)' -d 'Variable holding the key password'
complete -c sluice -n $probe -l sni -x -d 'Server name for TLS'
complete -c sluice -n $probe -s k -l insecure -d 'Do not verify server certificates'
complete -c sluice -n $probe -l service -x -d 'gRPC service to check'
complete -c sluice -n $probe -l send -x -d 'tcp: bytes to send (\r \n \xHH escapes)'
complete -c sluice -n $probe -l receive -x -d 'tcp: regex the reply must match'
complete -c sluice -n $probe -l probe-timeout -x -a '300ms 1s 5s 30s' -d 'Time limit of one probe (default 5s)'
complete -c sluice -n $probe -l connect-timeout -x -a '300ms 1s 5s' -d 'Time limit of connecting'
complete -c sluice -n $probe -l repeat -x -d 'Probe each target N times'
complete -c sluice -n $probe -l interval -x -a '100ms 250ms 1s 5s' -d 'Pause between probes (default 1s)'
complete -c sluice -n $probe -l wait -d 'Probe until healthy, or fail at --timeout'
complete -c sluice -n $probe -l timeout -x -a '30s 1m 2m 5m' -d '--wait: give up after this long'
complete -c sluice -n $probe -l success-threshold -x -d '--wait: consecutive passes needed'
complete -c sluice -n $probe -l concurrency -x -d 'Targets probed at once (default 10)'
complete -c sluice -n $probe -l format -x -a 'text json junit prom' -d 'Report on stdout'
complete -c sluice -n $probe -l report -x -a '(__sluice_probe_report_spec)' -d 'Also write a report, FORMAT:PATH'

# sluice version
complete -c sluice -n '__fish_seen_subcommand_from version' -s h -l help -d 'Print the usage and exit'

# sluice diagnose
function __sluice_diagnose_report_spec
    set -l tok (commandline -ct)
    set -l tok (string replace -r -- '^--report=' '' $tok)
    if string match -q -- '*:*' $tok
        set -l fmt (string split -m 1 : -- $tok)[1]
        for f in (__fish_complete_path (string split -m 1 : -- $tok)[2])
            echo $fmt:$f
        end
    else
        printf '%s\t%s\n' text: 'Readable report' json: 'JSON document' junit: 'JUnit XML'
    end
end
set -l diagnose '__fish_seen_subcommand_from diagnose'
complete -c sluice -n $diagnose -s h -l help -d 'Print the options and exit'
complete -c sluice -n $diagnose -s c -l config -r -F -d 'Gateway config: probe every endpoint'
complete -c sluice -n $diagnose -s a -l admin -x -a 'http://127.0.0.1:9901' -d 'Admin URL of a running gateway'
complete -c sluice -n $diagnose -l timeout -x -a '300ms 1s 3s 5s 30s' -d 'Time limit of each check (default 3s)'
complete -c sluice -n $diagnose -l concurrency -x -d 'Endpoints probed at once (default 10)'
complete -c sluice -n $diagnose -l slow -x -a '250ms 500ms 1s 2s' -d 'Slower health answers are "slow" (default 1s)'
complete -c sluice -n $diagnose -l cert-warning -x -a '7d 14d 30d' -d 'Sooner expiry is "cert_expiring" (default 14d)'
complete -c sluice -n $diagnose -l format -x -a 'text json junit' -d 'Report on stdout'
complete -c sluice -n $diagnose -l report -x -a '(__sluice_diagnose_report_spec)' -d 'Also write a report, FORMAT:PATH'

# sluice tokens
set -l tokens '__fish_seen_subcommand_from tokens'
set -l tokens_count '__fish_seen_subcommand_from tokens; and __fish_seen_subcommand_from count'
complete -c sluice -n "$tokens; and not __fish_seen_subcommand_from count" -a count -d 'Print the number of tokens of a file or stdin'
complete -c sluice -n $tokens -s h -l help -d 'Print the options and exit'
complete -c sluice -n $tokens_count -s e -l encoding -x -a 'cl100k_base o200k_base' -d 'The encoding (default o200k_base)'
complete -c sluice -n $tokens_count -s m -l model -x -a 'gpt-4o gpt-4o-mini gpt-4.1 gpt-5 o3 o4-mini gpt-4 gpt-3.5-turbo claude-sonnet-4-5 gemini-2.5-pro' -d 'Count as this model does'
complete -c sluice -n $tokens_count -l chat -d 'The input is a chat-completions request (JSON)'
complete -c sluice -n $tokens_count -l format -x -a 'text json' -d 'Output: the count alone, or JSON details'
complete -c sluice -n $tokens_count -l ids -d 'With --format json: list the token ids'
complete -c sluice -n $tokens_count -F

# sluice usage
set -l usage '__fish_seen_subcommand_from usage'
complete -c sluice -n $usage -s h -l help -d 'Print the options and exit'
complete -c sluice -n $usage -l db -r -F -d "The ledger: the gateway's [store] path"
complete -c sluice -n $usage -s c -l config -r -F -d 'Read the ledger path from this config'
complete -c sluice -n $usage -l by -x -a 'key model day alias provider' -d 'Grouping (default key)'
complete -c sluice -n $usage -l since -x -a '1d 7d 30d 12h' -d 'From a UTC date, RFC 3339 time or duration ago'
complete -c sluice -n $usage -l until -x -d 'Before a UTC date, RFC 3339 time or duration ago'
complete -c sluice -n $usage -l key -x -d 'Only this virtual key'
complete -c sluice -n $usage -l format -x -a 'text json csv' -d 'Output: a table, JSON or CSV'

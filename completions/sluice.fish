# fish completion for sluice. Install as ~/.config/fish/completions/sluice.fish (or the
# vendor completions directory). Mirrors the CLI11 definitions in cmd/.

function __sluice_no_command
    not __fish_seen_subcommand_from serve config chaos version
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

# sluice version
complete -c sluice -n '__fish_seen_subcommand_from version' -s h -l help -d 'Print the usage and exit'

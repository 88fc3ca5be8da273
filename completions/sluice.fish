# fish completion for sluice. Install as ~/.config/fish/completions/sluice.fish (or the
# vendor completions directory). Mirrors the CLI11 definitions in cmd/.

function __sluice_no_command
    not __fish_seen_subcommand_from serve config version
end

function __sluice_config_needs_command
    __fish_seen_subcommand_from config; and not __fish_seen_subcommand_from validate example
end

complete -c sluice -f

# sluice
complete -c sluice -n __sluice_no_command -s h -l help -d 'Print the commands and exit'
complete -c sluice -n __sluice_no_command -l version -d 'Print the version and exit'
complete -c sluice -n __sluice_no_command -a serve -d 'Run the gateway'
complete -c sluice -n __sluice_no_command -a config -d 'Check or generate configuration files'
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

# sluice version
complete -c sluice -n '__fish_seen_subcommand_from version' -s h -l help -d 'Print the usage and exit'

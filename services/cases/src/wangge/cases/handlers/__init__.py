"""The cases service's commands, one module per aggregate: the command models and one function
per command, taking a command runner (``wangge.events.command``) and the service's core; no web
framework, so routes, the CLI and the handler tests run them alike."""

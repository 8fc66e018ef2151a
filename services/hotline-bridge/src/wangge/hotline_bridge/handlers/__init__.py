"""The hotline bridge's commands, one module per aggregate: the command models and one function
per command, taking a ``CommandRunner`` and what else it needs (the callers' keys, the dispatch
catalogue, the intake queue, the settings); no web framework."""

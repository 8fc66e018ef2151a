"""Command handlers: load the streams a command needs, decide with the domain, append."""

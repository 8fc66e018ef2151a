"""The registry's REST API: routes translate HTTP to commands and queries, nothing more."""

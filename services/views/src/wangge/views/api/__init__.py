"""The views service's routes: they translate HTTP to the read models' queries, nothing more."""

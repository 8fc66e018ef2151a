"""The views service's own events: only the audit of reads (who read which department's feed).
Every fact it shows is another service's."""

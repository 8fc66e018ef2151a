"""Wangge's analyst replay: event streams into a pseudonymised, Hive-partitioned dataset.

Imported by the ``wangge`` command line for every service: nothing heavy here.
"""

CHUNK = 20_000
"""Offsets per chunk of a source partition: a chunk's rows are held in memory until written
(tens of MB), and each (type, month) of a chunk is one file."""

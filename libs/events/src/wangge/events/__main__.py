"""``python -m wangge.events``: the same as the ``wangge-events`` command."""

from wangge.events.cli import main

main()

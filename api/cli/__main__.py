"""``python -m api.cli``: the ``zhaosheng`` command."""

from api.cli import main

main()

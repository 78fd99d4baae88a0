"""``python -m whodirected``: the command line."""

from whodirected._cli.main import main

main()

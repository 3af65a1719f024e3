"""`python -m cli`: the same as the `sijill` script."""

from cli.main import main

main()

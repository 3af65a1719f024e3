"""The `sijill` command line: the same use cases as the API, from a terminal."""

"""HTTP service and command line: thin layers over `solver` and `models`."""

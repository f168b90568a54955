"""CLI subcommands, one module each; see :mod:`profiler.cli`.

Commands parse arguments, call the API and render. They hold no measuring logic.
"""

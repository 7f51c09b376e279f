"""wfhost's benchmarks: `python -m bench [--quick] [--only NAME ...]` runs the suite (bench/__main__.py).

One module per measurement, each with `run(quick) -> list[Row]` for the suite and, where it is
cheap, a `main()` of its own (`python -m bench.<module> --help`). docs/performance.md has the
method and the numbers; speed targets live there and here, never in timed tests.
"""

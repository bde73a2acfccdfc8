"""The fair benchmark of issue 13: pipeline against bare baselines under the same limits.

`python -m bench` (or `bash bench/run.sh`) runs every measure, writes
`bench/results/<date>-<commit>.json` and PNG plots beside it, and prints the targets table.
Timings are ratios within one run; nothing here is a pass/fail test.
"""

"""What to build and test on: Go versions × platforms × services × shards, and the builds.

A team wants its binaries for several targets and its tests on the Go versions it supports,
without writing the job list by hand or finding out on GitHub that it is too long. The plan
turns version words and platform words into a ``strategy.matrix`` whose entries carry what each
job needs; the builds then produce the stripped, reproducible binaries of each target.
"""

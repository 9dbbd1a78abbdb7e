"""Go tests in CI: each package on its own, in parallel, split evenly across jobs, reported well.

``go test ./...`` gives one verdict and one profile for everything; CI needs more: a failure
that names its package and test, coverage per package that merges exactly, timings that split
the next run evenly across shards, a rerun that tells a flaky test from a broken one, and JUnit
for the services that read it. Tests are listed through go, run through ``go test -json``, and
judged from its event stream.
"""

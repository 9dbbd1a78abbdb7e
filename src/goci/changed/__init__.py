"""What a change touches: run only the tests, builds and services a commit range can break.

Testing everything on every push is what makes a Go monorepo's CI slow; testing too little is
what makes it untrustworthy. The answer comes from the CI event (which commits to compare), git
(which files changed), and Go's own package graph (who imports, links or embeds them), and it
errs on one side only: when a step cannot be sure, everything runs, with the reason.
"""

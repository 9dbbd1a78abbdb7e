"""Go's two caches in CI: restored by the right key, trusted only after a check, kept small.

A cache that misses costs minutes on every job; one restored for other dependencies can feed a
build what go.sum does not vouch for; one that only grows costs minutes to restore. Keys name
exactly what each cache's content depends on, a module cache restored by a fallback key is
verified before use, and the build cache is marked after the restore and trimmed of what this
run did not use before it is saved.
"""

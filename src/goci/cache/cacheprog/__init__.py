"""``goci cacheprog``: Go's GOCACHEPROG served from a goci store, one build cache for every job.

Since Go 1.24 the go command can hand its build cache (compiled packages, linked test
binaries, test results) to a program named by ``GOCACHEPROG``, over JSON messages on
stdin/stdout (:mod:`.wire`). This server answers from a local folder first (:mod:`.local`)
and from a ``file://`` or ``s3://`` store second (:mod:`.remote`, laid out as :mod:`.entries`
says), uploads in the background, checks every output against its ID, and says what it did
when the go command closes it (:mod:`.stats`). :mod:`.gc` trims the store; :mod:`.plan`
decides, per job, whether the shared cache is used at all and how the server is started.
"""

"""Coverage of the whole repository, from the profiles of every job and shard.

Each job tests a part; the number people act on is the total, and it must be the number one
unsharded ``go test -coverpkg`` run would print. Profiles are merged block by block (refusing
profiles that cannot be added honestly), checked against the source that produced them, turned
into the totals ``go tool cover -func`` prints, compared with thresholds, and written in the
formats other services read (Cobertura, LCOV, HTML).
"""

"""Publishing binaries people can trust: packed, checksummed, uploaded, promoted, never overwritten.

A release is what a team deploys, so it must be exactly what goci build made, complete or
absent (never half-uploaded), and immutable once it is a prod version. Releases are packed
from the build output (only binaries matching their build records), named by environment and
version, checksummed in the ``sha256sum`` format, uploaded to a store (a folder, S3-compatible
storage) or attached to a GitHub release, and promoted from dev to prod by copying the very
bytes that were verified, with a claim that lets exactly one writer own a prod version.
"""

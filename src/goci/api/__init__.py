"""The exported API of the packages a change touches: what was added, removed or changed.

Both trees (the merge base, checked out in a temporary folder, and the checkout) are listed
with ``go list -export``, and a small Go helper loads each package from that export data with
Go's own type checker and compares old and new by golang.org/x/exp/apidiff's rules. A breaking
change counts against the verdict only in a module at v1 or later that keeps its major version.
"""

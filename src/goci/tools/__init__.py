"""How goci touches the world outside Python: ``go``, ``git``, the repository's modules, the disk.

Every other package asks here instead of starting processes or writing files its own way, so
timeouts, environments, error text and crash safety are decided once. One door per tool
(:mod:`goci.tools.gotool`, :mod:`goci.tools.gittool`, both through the one subprocess runner
:mod:`goci.tools._proc`); goci's own small Go programs, built at run time with the user's Go
(``gohelpers/``). Two more things live here because every capability needs them and none owns
them: which Go modules are in use (:mod:`goci.tools.workspace`, Go's own view of the
repository, read through the go door), and writing a file all at once under a temporary name
that says which process wrote it (:mod:`goci.tools.atomic`, :mod:`goci.tools.owner`), so a
crash never leaves half a file and a later run can tell a dead writer's leftovers from live work.
"""

"""Proof under load, faults and hostile input (marker `reliability`), one module per scenario
family: the generated service as a real process on loopback, driven past its capacity, stopped
under load, made to panic, squeezed into a cgroup, fed hostile input, probed from the network,
and its code scanned for known vulnerabilities.

Every scenario records its figures (docs/reliability.md lists them with the command that
reproduces them). Assertions are on promises (statuses, counts, exactly-once, exit codes,
deadlines that are part of the configuration), never on speed.
"""

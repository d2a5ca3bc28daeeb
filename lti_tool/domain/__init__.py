"""Pure rules and values of micro-credential stacks.

Nothing here imports a framework, a database driver or the network: every rule
that decides "earned", "not yet", "stack complete" or "CEUs granted" lives here
and is tested in milliseconds.
"""

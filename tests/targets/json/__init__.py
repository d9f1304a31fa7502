"""A target that exists only in the test suite: one JSON file per gateway.

It proves the target contract: registered from the tests (``tests.targets.registered``), it
passes the golden, determinism, cross-target and drift tests without any change under src/.
"""

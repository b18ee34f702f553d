"""Local stand-ins of every target, on loopback, for the demo and the tests."""

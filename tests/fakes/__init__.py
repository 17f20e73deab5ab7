"""Loopback fakes of the outside world (exchanges, chat platforms) for tests and benchmarks."""

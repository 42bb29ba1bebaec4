"""What the tests and the benchmarks share: real servers' helpers, services as child processes, and the
independent expectation of a generated timeline. Never imported by the services."""

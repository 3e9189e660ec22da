"""Test data the suite and the benchmarks generate: files, mailboxes, the demo's figures."""

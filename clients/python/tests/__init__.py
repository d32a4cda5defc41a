"""Tests of modelwatch-client: unit, against a stub server, and against the real modelwatch serve."""

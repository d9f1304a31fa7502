"""Tests of the Compose target."""

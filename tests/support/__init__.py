"""Helpers shared by test modules (external validators)."""

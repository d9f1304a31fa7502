"""Tests per target, one directory each, and the cross-target checks every registered target must pass."""

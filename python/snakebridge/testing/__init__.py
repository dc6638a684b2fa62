"""Helpers for testing SnakeBridge adapters against a real worker."""

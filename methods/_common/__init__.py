"""Helpers shared by several methods (not methods themselves)."""

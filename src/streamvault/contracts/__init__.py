"""Typed message contracts shared by producers and consumers (msgspec: validated, fast JSON)."""

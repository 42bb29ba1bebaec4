"""Typed message contracts shared by producers and consumers (msgspec: validated, fast JSON)."""

from msgspec import Struct


class Contract(Struct, gc=False):
    """A decoded message is a tree: it never holds a reference cycle, so the garbage collector need
    not track it (a batch holds tens of thousands of them)."""

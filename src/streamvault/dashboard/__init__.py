"""The live dashboard of docs/spec.md §2.4 (`streamvault dashboard`) and its BI exports."""

from streamvault.dashboard.app import create_app

__all__ = ["create_app"]

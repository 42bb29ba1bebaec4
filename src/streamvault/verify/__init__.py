"""`streamvault verify`: do the layers agree? Set-based SQL over one snapshot (docs/operations.md)."""

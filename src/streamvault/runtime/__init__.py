"""The one consume -> transform -> load -> commit loop that every service runs."""

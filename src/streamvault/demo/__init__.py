"""`streamvault demo`: the stack, the three services, the generator and the dashboard in one command."""

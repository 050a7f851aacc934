"""Intake: requests from and to foreign CPs become cases, once, whichever CP registers them."""

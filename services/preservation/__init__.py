"""Preservation: expedited preservation orders (Art 29), their approval and their clocks."""

"""The cp247 services. Each has ``domain.py`` (aggregates and rules, plain Python),
``app.py`` (the eventsourcing application: commands, queries and policies) and
``service.py`` (the thin nameko adapter used in the distributed mode)."""

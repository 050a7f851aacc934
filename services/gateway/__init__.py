"""Gateway: the HTTP face of cp247 (REST API, later the consoles) and who may use it."""

"""Runtime shared by every service: the application base, the outbox and the inbox."""

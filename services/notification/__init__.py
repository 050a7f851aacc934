"""Notification: receipts to foreign CPs, alerts, reminders (channels come with issue 5)."""

"""Reminder occurrences, push subscriptions, claims, the dispatcher and its loop, the push API."""

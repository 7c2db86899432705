"""The patient's course: today, the plan, recording applications, idempotency, reminder settings, /api/me."""

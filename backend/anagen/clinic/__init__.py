"""Clinics and their staff, enrolment, invites, messages, clinic settings, the demo clinic and
the /api/clinic blueprints."""

"""The clinic's blueprints (and the patient's invite redemption)."""

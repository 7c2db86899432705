"""A web-push library: VAPID keys and header, the aes128gcm payload, transport, sender and worker processes.

Imports no Flask, no SQLAlchemy and nothing of `anagen` outside itself."""

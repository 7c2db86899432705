"""Accounts, server-side sessions, passwords, CSRF, security headers, the access rules and the audit trail."""

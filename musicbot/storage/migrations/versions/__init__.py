"""Revision scripts, oldest first: ``v0001_initial``, ``v0002_audit_log_crossfade``."""

"""Backup and restore of a whole platform (issue 17, RES-01, KEY-07)."""

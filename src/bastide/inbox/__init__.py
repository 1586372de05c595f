"""What waits for a person: each role's work across the domains, for their home page (issue 18)."""

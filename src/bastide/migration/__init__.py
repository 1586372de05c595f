"""Moving a whole platform to another deployment (issue 17, item 3)."""

"""Who answers for each part of a deployment, and what it is built from (issue 17, item 5)."""

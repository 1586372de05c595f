"""Everything the platform holds, in open formats (issue 17, item 4; SOV-07)."""

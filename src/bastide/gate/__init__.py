"""What both HTTP faces of the platform stand on — `api/` (JSON for programs) and `web/` (pages for
people) are siblings over the domains and never import each other (issue 18, item 12; the
import-linter contracts in pyproject.toml): who is calling (`auth`), which egress rule lets an
answer's bytes out (`egress`), the request's platform and unit of work (`request`), and the
sign-in and one-time-link steps both faces offer (`signin`)."""

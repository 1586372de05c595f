"""The SNDS analytics layer (issue 6): what researchers otherwise rewrite in every project.

- `dcir.py`: DCIR flattened — the detail tables left-joined onto ER_PRS_F on the 9 keys, the
  standard filters as named options, flux-month slices, the care-year view over 18 flux months,
  cancellation lines netted;
- `pmsi.py`: PMSI MCO flattened without row explosion — a central stay table, each other table
  joined to it on its own and the results stacked;
- `events.py`: one long table (person, category, group_id, value, weight, start, end) of drug
  dispensations, diagnoses, medical acts, hospital stays, long-term illnesses and deaths;
- `views.py`: all of it as views over a workspace's extract, for its SQL console and its jobs.

Everything is SQL that DuckDB and Spark both run (the engine's dialect spells the rest), built
from the columns actually present, so a narrow extract gets the views its tables allow."""

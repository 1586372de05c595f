"""Worker processes: they run provisioning builds, jobs and the scheduled checks from the queue the
database holds (builds and jobs are rows with a status); the API and pages only record them."""

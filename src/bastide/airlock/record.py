"""A release's signed record: what `bastide airlock verify` checks offline, apart from the
platform's heavy parts (the command needs no workspace engine to start)."""

FORMAT = "bastide-release/1"
RECORD = "RELEASE.json"

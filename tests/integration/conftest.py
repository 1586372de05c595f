"""Fixtures shared by the governance tests."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bastide.base.ingest import IngestRequest, ingest
from bastide.identity import service as identity
from bastide.platform import operator_actor


@pytest.fixture
def world(platform, small_delivery):
    """A published snds@2024-12 and four people (SQLite + local store, PostgreSQL + S3)."""
    ingest(platform, actor=operator_actor(), request=IngestRequest(str(small_delivery), "snds", "2024-12"))
    until = date.today() + timedelta(days=365)
    people = {}
    with platform.db.unit_of_work() as s:
        lab = identity.create_organisation(s, actor=operator_actor(), name="Labo privé", sector="private")
        hdh = identity.create_organisation(s, actor=operator_actor(), name="HDH", sector="public")
        for email, org, role in (("alice@labo.example", lab, "researcher"), ("ines@hdh.example", hdh, "instructor"),
                                 ("louis@hdh.example", hdh, "legal_recorder"), ("bob@labo.example", lab, "researcher")):
            identity.create_user(s, actor=operator_actor(), email=email, name=email, organisation=org, roles={role},
                                 end_of_rights=until)
    with platform.db.unit_of_work() as s:
        for email in ("alice@labo.example", "ines@hdh.example", "louis@hdh.example", "bob@labo.example"):
            people[email.split("@")[0]] = identity.actor_of(identity.get_user(s, email))
    return platform, people

"""The sovereignty report (issue 17, item 5; SOV-01, SOV-02, SOV-03, SOV-04 — the same evidence as
SOV-01/02 —, SOV-06, RES-05): every endpoint a deployment is configured to reach, its operator
and jurisdiction as the operator's register says, flags for what is outside the EU or unknown, a
CycloneDX SBOM that validates against the published schema, all signed."""

from __future__ import annotations

import json

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from pydantic import SecretStr

from bastide.config import Settings
from bastide.errors import ConfigError
from bastide.keys.signing import verify_document
from bastide.platform import Platform
from bastide.sovereignty import register, service
from bastide.sovereignty.endpoints import AWS_S3, endpoints
from bastide.sovereignty.sbom import sbom

REGISTER = """
[[operator]]
name = "Cloud souverain SAS"
jurisdiction = "fr"
qualification = "SecNumCloud 3.2"
serves = ["*.souverain.example", "pkcs11:token=bastide"]

[[operator]]
name = "Mail Inc."
jurisdiction = "US"
serves = ["smtp.mail-inc.example"]
"""


def national(tmp_path, **more) -> Settings:
    (tmp_path / "register.toml").write_text(REGISTER)
    return Settings(home=tmp_path / "home", database_url="postgresql+psycopg://bastide:pw@db.souverain.example:5432/b",
                    store_url="s3://bucket/bastide", s3_endpoint="https://s3.souverain.example",
                    s3_access_key=SecretStr("AKIA"), s3_secret_key=SecretStr("s3cr3t-value"),
                    mail_url="smtps://user:mailpass@smtp.mail-inc.example:465",
                    public_url="https://bastide.souverain.example", sovereignty_register=tmp_path / "register.toml",
                    **{"key_backend": "pkcs11", **more})


def test_every_configured_endpoint_is_listed_without_its_credentials(tmp_path):
    found = {e.kind: e for e in endpoints(national(tmp_path, backup_s3_endpoint="https://s3.other.example:9000",
                                                   engine="spark", spark_master="spark://spark.souverain.example:7077"))}
    assert {k: e.address for k, e in found.items()} == {
        "database": "db.souverain.example", "object store": "s3.souverain.example", "backup store": "s3.other.example",
        "HSM": "pkcs11:token=bastide", "mail relay": "smtp.mail-inc.example", "Spark cluster": "spark.souverain.example",
        "public address": "bastide.souverain.example", "identity provider": "localhost"}
    text = json.dumps([e.detail for e in found.values()])
    assert ":pw@" not in text and "mailpass" not in text and "s3cr3t" not in text and "AKIA" not in text


def test_an_s3_store_without_an_endpoint_is_amazon_and_is_flagged(tmp_path):
    settings = Settings(home=tmp_path, store_url="s3://bucket/x")
    assert next(e for e in endpoints(settings) if e.kind == "object store").address == AWS_S3
    operators = register.read(None)
    assert register.operator_of(operators, AWS_S3) is None  # unknown until the register says (and it is AWS: US)


def test_the_register_is_matched_and_its_mistakes_are_clear(tmp_path):
    operators = register.read(national(tmp_path).sovereignty_register)
    assert register.operator_of(operators, "db.souverain.example").jurisdiction == "FR"
    assert register.operator_of(operators, "smtp.mail-inc.example").in_eu is False
    assert register.operator_of(operators, "evil.example") is None
    bad = tmp_path / "bad.toml"
    bad.write_text('[[operator]]\nname = "X"\njurisdiction = "France"\nserves = ["*"]\n')
    with pytest.raises(ConfigError, match="not an ISO 3166-1 country code"):
        register.read(bad)
    bad.write_text('[[operator]]\nname = "X"\n')
    with pytest.raises(ConfigError, match="lacks jurisdiction, serves"):
        register.read(bad)


def test_the_report_flags_outside_eu_and_unknown_and_is_signed(tmp_path):
    settings = national(tmp_path, key_backend="local")  # key files: "localhost", not in the register
    platform = Platform(settings)
    platform.signer.ensure_key()
    document = service.report(platform)
    flags = {r["kind"]: r["flag"] for r in document["endpoints"]}
    assert flags["database"] == flags["object store"] == flags["public address"] == "ok"
    assert flags["mail relay"] == "outside_eu" and flags["key files"] == "unknown"
    assert any("Mail Inc. answers to US" in f for f in document["flags"])
    text = service.signed(platform, document)
    assert verify_document(text, public_pem=platform.signer.public_pem(), format=service.FORMAT) == document
    altered = json.loads(text)
    mail = next(r for r in altered["document"]["endpoints"] if r["kind"] == "mail relay")
    mail["jurisdiction"], mail["flag"] = "FR", "ok"  # the US mail relay passed off as French
    with pytest.raises(ValueError, match="signature"):
        verify_document(json.dumps(altered), public_pem=platform.signer.public_pem(), format=service.FORMAT)


def test_the_sbom_is_valid_cyclonedx_with_every_licence_and_the_dependency_graph():
    document = sbom()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(document)) is None
    names = {c["name"].lower().replace("_", "-") for c in document["components"]}
    assert {"cryptography", "sqlalchemy", "duckdb", "pyarrow", "fastapi"} <= names
    assert document["metadata"]["component"]["name"] == "bastide"
    assert all(c.get("licenses") for c in document["components"]), [c["name"] for c in document["components"]
                                                                      if not c.get("licenses")]
    root = next(d for d in document["dependencies"] if d["ref"] == document["metadata"]["component"]["bom-ref"])
    assert any(ref.startswith("pkg:pypi/cryptography@") for ref in root["dependsOn"])

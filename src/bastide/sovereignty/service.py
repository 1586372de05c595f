"""`bastide sovereignty report`: every external endpoint of the deployment with who operates it
and under which jurisdiction (the operator's register), flags for what is outside the EU or not
in the register, the SBOM of what runs, signed by the platform (SOV-01…06, SOV-03's supply
chain, RES-05)."""

from __future__ import annotations

import hashlib
from dataclasses import asdict

from bastide.db import utcnow
from bastide.keys.signing import document_file, sign_document
from bastide.platform import Platform
from bastide.sovereignty import register
from bastide.sovereignty.endpoints import endpoints
from bastide.sovereignty.sbom import sbom

FORMAT = "bastide-sovereignty/1"


def report(platform: Platform) -> dict:
    settings = platform.settings
    operators = register.read(settings.sovereignty_register)
    rows = []
    for endpoint in endpoints(settings):
        operator = register.operator_of(operators, endpoint.address)
        flag = "unknown" if operator is None else ("ok" if operator.in_eu else "outside_eu")
        rows.append({**asdict(endpoint), "operator": operator.name if operator else None,
                     "jurisdiction": operator.jurisdiction if operator else None,
                     "qualification": operator.qualification if operator else None, "flag": flag})
    source = settings.sovereignty_register
    return {
        "format": FORMAT, "generated_at": utcnow().isoformat(), "environment": settings.env,
        "register": {"path": str(source) if source else None,
                     "sha256": hashlib.sha256(source.read_bytes()).hexdigest() if source else None,
                     "operators": len(operators)},
        "endpoints": rows,
        "flags": [f"{r['kind']} {r['address']}: " + ("not in the register" if r["flag"] == "unknown" else
                  f"{r['operator']} answers to {r['jurisdiction']}, outside the European Union")
                  for r in rows if r["flag"] != "ok"],
        "sbom": sbom(),
    }


def signed(platform: Platform, document: dict) -> str:
    """The report as a file a reader checks with the platform's public key (`verify_document`)."""
    _, signature = sign_document(platform.signer, document)
    return document_file(document, signature, platform.signer.public_pem())

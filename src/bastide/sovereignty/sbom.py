"""A CycloneDX SBOM of the Python distributions installed beside the platform, with their
licences (SOV-03: the software supply chain reviewed; RES-05: the components known)."""

from __future__ import annotations

import json
import re
from importlib import metadata

from cyclonedx.contrib.license.factories import LicenseFactory
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

LICENCE_CLASSIFIER = "License :: "


def licence_of(dist: metadata.Distribution) -> str | None:
    """What a distribution declares: an SPDX expression (PEP 639), its License field if short,
    else its licence classifiers."""
    meta = dist.metadata
    if meta.get("License-Expression"):
        return meta["License-Expression"]
    text = (meta.get("License") or "").strip()
    if text and "\n" not in text and len(text) <= 100 and text.upper() != "UNKNOWN":
        return text
    classifiers = [c.rsplit(" :: ", 1)[-1] for c in meta.get_all("Classifier") or [] if c.startswith(LICENCE_CLASSIFIER)]
    return " OR ".join(classifiers) or None


def _component(dist: metadata.Distribution, factory: LicenseFactory) -> Component:
    name, version = dist.metadata["Name"], dist.version
    licence = licence_of(dist)
    return Component(type=ComponentType.LIBRARY, name=name, version=version,
                     purl=PackageURL("pypi", name=name.lower(), version=version),
                     bom_ref=f"pkg:pypi/{name.lower()}@{version}",
                     licenses=[factory.make_from_string(licence)] if licence else [])


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503's normal form


def _requires(dist: metadata.Distribution) -> set[str]:
    """The distributions it needs whatever extras are asked (what an extra needs is not needed)."""
    names = set()
    for requirement in dist.requires or []:
        if "extra ==" in requirement.replace("extra==", "extra =="):
            continue
        found = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
        if found:
            names.add(_key(found.group(1)))
    return names


def sbom() -> dict:
    """The SBOM as a CycloneDX 1.6 JSON document (a dict), with the dependency graph."""
    factory, components, dists = LicenseFactory(), {}, {}
    bom = Bom()
    for dist in sorted(metadata.distributions(), key=lambda d: _key(d.metadata["Name"] or "")):
        name = _key(dist.metadata["Name"] or "")
        if name and name not in dists:
            dists[name] = dist
            components[name] = _component(dist, factory)
    root = components.pop("bastide")
    root.type = ComponentType.APPLICATION
    bom.metadata.component = root
    for component in components.values():
        bom.components.add(component)
    everything = {"bastide": root, **components}
    for name, dist in dists.items():
        needed = [everything[n] for n in sorted(_requires(dist)) if n in everything]
        bom.register_dependency(everything[name], needed)
    return json.loads(JsonV1Dot6(bom).output_as_string())

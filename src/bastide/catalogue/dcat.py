"""HealthDCAT-AP description of a dataset (CAT-01…CAT-10), with its CSVW variable list, in a
DCAT-AP catalogue (issue 18, item 13).

The export conforms to HealthDCAT-AP Release 8's NON_PUBLIC shapes on top of the DCAT-AP 3.0.0
shapes they import, both kept in `catalogue/shapes/` with their licence: every value a shape
wants of a class is typed so (a licence a `dct:LicenseDocument`, a theme a `skos:Concept` with its
label…), and the catalogue, the publisher and the health data access body are described as the
profile asks. The healthdcatap namespace is provisional upstream (CAT-10):
it comes from Settings.
"""

from __future__ import annotations

import re

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS, XSD

from bastide.catalogue.models import Dataset
from bastide.catalogue.vocabulary import (FRANCE, FRENCH, HEALTH, HEALTH_CATEGORIES, LABELS, NON_PUBLIC, PARQUET,
                                          PUBLISHER_TYPE, STABLE, STATISTICAL, health_category, scheme_of)

CSVW = Namespace("http://www.w3.org/ns/csvw#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
CV = Namespace("http://data.europa.eu/m8g/")
ELI = Namespace("http://data.europa.eu/eli/ontology#")
EHDS = URIRef("http://data.europa.eu/eli/reg/2025/327/oj")
# CSVW's built-in datatypes, named as a string (csvw:datatype is a literal, not an IRI)
CSVW_TYPES = {"string": "string", "integer": "integer", "number": "decimal", "date": "date", "datetime": "datetime",
              "boolean": "boolean", "year": "gYear", "yearmonth": "gYearMonth"}
YEARLY = re.compile(r"aa")  # a yearly SNDS table is named with `aa` where its folders hold the year's 2 digits


def dataset_graph(dataset: Dataset, *, base_iri: str, publisher: str, email: str, namespace: str) -> Graph:
    hd = Namespace(namespace)
    g = Graph()
    for prefix, ns in (("dcat", DCAT), ("dct", DCTERMS), ("csvw", CSVW), ("vcard", VCARD), ("dcatap", DCATAP),
                       ("healthdcatap", hd), ("foaf", FOAF), ("cv", CV), ("skos", SKOS), ("eli", ELI)):
        g.bind(prefix, ns)
    _vocabulary(g, dataset.health_categories)
    ds = URIRef(f"{base_iri}dataset/{dataset.name}")
    agent = _agent(g, base_iri, publisher, email)
    _catalogue(g, base_iri, publisher, agent, ds)
    g.add((ds, RDF.type, DCAT.Dataset))
    g.add((ds, DCTERMS.identifier, Literal(dataset.name)))
    g.add((ds, DCTERMS.title, Literal(dataset.title, lang="fr")))
    g.add((ds, DCTERMS.description, Literal(dataset.description or dataset.title, lang="fr")))
    g.add((ds, DCTERMS.accessRights, NON_PUBLIC))
    g.add((ds, DCATAP.applicableLegislation, EHDS))
    g.add((ds, DCAT.theme, HEALTH))
    g.add((ds, DCTERMS.type, STATISTICAL))
    g.add((ds, DCTERMS.provenance, _provenance(g, dataset)))
    g.add((ds, DCTERMS.spatial, FRANCE))
    g.add((ds, DCTERMS.language, FRENCH))
    for keyword in dataset.keywords or [dataset.name]:
        g.add((ds, DCAT.keyword, Literal(keyword)))
    for category in dataset.health_categories:
        g.add((ds, hd.healthCategory, health_category(category)))
    g.add((ds, DCTERMS.publisher, agent))
    g.add((ds, hd.hdab, agent))
    g.add((ds, DCAT.contactPoint, _contact(g, email)))
    published = [s for s in dataset.snapshots if s.status == "published"]
    for snapshot in published:
        _distribution(g, ds, snapshot, base_iri)
    covered = sorted({year for snapshot in published for year in years_of(snapshot)})
    if covered:
        g.add((ds, DCTERMS.temporal, _period(g, covered[0], covered[-1])))
    # structured data is described by its variables: none before a first release (the profile's rule)
    g.add((ds, hd.hasStructuredData, Literal(bool(published))))
    if published:
        latest = published[-1]
        g.add((ds, hd.numberOfRecords, Literal(latest.rows, datatype=XSD.nonNegativeInteger)))
        g.add((ds, hd.hasVariables, _variables(g, latest, base_iri)))
    return g


def years_of(snapshot) -> set[int]:
    """The years a release covers, as its yearly tables' folders name them (T_MCO23B: 2023)."""
    years = set()
    for source in snapshot.sources:
        at = YEARLY.search(source.table_name)
        digits = source.folder[at.start():at.start() + 2] if at and len(source.folder) >= at.start() + 2 else ""
        if digits.isdigit():
            years.add(2000 + int(digits))
    return years


def _vocabulary(g: Graph, categories: list[str]) -> None:
    """What the shapes ask of the controlled terms the export names: their class, a concept's label
    and the scheme it is taken from (CAT-08), so that a validator without the tables loaded sees
    the same as one with them."""
    g.add((EHDS, RDF.type, ELI.LegalResource))
    g.add((NON_PUBLIC, RDF.type, DCTERMS.RightsStatement))
    g.add((FRANCE, RDF.type, DCTERMS.Location))
    g.add((FRENCH, RDF.type, DCTERMS.LinguisticSystem))
    g.add((PARQUET, RDF.type, DCTERMS.MediaTypeOrExtent))
    labels = {**LABELS, **{health_category(code): HEALTH_CATEGORIES[code] for code in categories}}
    for concept, label in labels.items():
        g.add((concept, RDF.type, SKOS.Concept))
        g.add((concept, SKOS.prefLabel, Literal(label, lang="en")))
        g.add((concept, SKOS.inScheme, scheme_of(concept)))


def _catalogue(g: Graph, base_iri: str, publisher: str, agent: URIRef, ds: URIRef) -> None:
    catalogue = URIRef(f"{base_iri}catalogue")
    g.add((catalogue, RDF.type, DCAT.Catalog))
    g.add((catalogue, DCTERMS.title, Literal(f"Catalogue — {publisher}", lang="fr")))
    g.add((catalogue, DCTERMS.description, Literal(
        "Bases de données de santé hébergées par la plateforme, accessibles sur permis (EHDS, art. 68).", lang="fr")))
    g.add((catalogue, DCTERMS.publisher, agent))
    g.add((catalogue, DCATAP.applicableLegislation, EHDS))  # HealthDCAT-AP asks it of the catalogue too
    g.add((catalogue, DCTERMS.spatial, FRANCE))
    g.add((catalogue, DCTERMS.language, FRENCH))
    g.add((catalogue, DCAT.dataset, ds))


def _provenance(g: Graph, dataset: Dataset) -> BNode:
    node = BNode()
    g.add((node, RDF.type, DCTERMS.ProvenanceStatement))
    g.add((node, RDFS.label, Literal(f"Ingested, validated against {dataset.schema_source} and signed by Bastide")))
    return node


def _agent(g: Graph, base_iri: str, name: str, email: str) -> URIRef:
    """The publisher, which is also the health data access body: an agent with its type and contact
    point (vcard:Kind for DCAT-AP, cv:ContactPoint for HealthDCAT-AP's CAT-07)."""
    agent = URIRef(f"{base_iri}agent/publisher")
    g.add((agent, RDF.type, FOAF.Agent))
    g.add((agent, FOAF.name, Literal(name)))
    g.add((agent, DCTERMS.type, PUBLISHER_TYPE))
    g.add((agent, DCAT.contactPoint, _contact(g, email)))
    point = BNode()
    g.add((point, RDF.type, CV.ContactPoint))
    g.add((point, CV.email, Literal(email)))
    g.add((agent, CV.contactPoint, point))
    return agent


def _contact(g: Graph, email: str) -> BNode:
    node = BNode()
    g.add((node, RDF.type, VCARD.Kind))
    g.add((node, VCARD.hasEmail, URIRef(f"mailto:{email}")))
    return node


def _period(g: Graph, first: int, last: int) -> BNode:
    node = BNode()
    g.add((node, RDF.type, DCTERMS.PeriodOfTime))
    g.add((node, DCAT.startDate, Literal(f"{first}-01-01", datatype=XSD.date)))
    g.add((node, DCAT.endDate, Literal(f"{last}-12-31", datatype=XSD.date)))
    return node


def _distribution(g: Graph, ds: URIRef, snapshot, base_iri: str) -> None:
    dist = URIRef(f"{base_iri}dataset/{snapshot.dataset.name}/snapshot/{snapshot.release}")
    licence = URIRef(f"{base_iri}licence/data-permit")
    g.add((licence, RDF.type, DCTERMS.LicenseDocument))
    g.add((licence, RDFS.label, Literal("Use under a data permit only (EHDS, art. 68), in the platform's secure "
                                        "processing environment", lang="en")))
    g.add((ds, DCAT.distribution, dist))
    g.add((dist, RDF.type, DCAT.Distribution))
    g.add((dist, DCTERMS.title, Literal(snapshot.ref)))
    g.add((dist, DCTERMS.description, Literal(
        f"Version {snapshot.release} : {len(snapshot.tables)} tables, {snapshot.rows} lignes, en Parquet chiffré ; "
        f"empreinte de Merkle {snapshot.merkle_root or 'à venir'}.", lang="fr")))
    g.add((dist, DCAT.accessURL, URIRef(f"{base_iri}api/catalogue/datasets/{snapshot.dataset.name}")))
    g.add((dist, DCATAP.applicableLegislation, EHDS))
    g.add((dist, DCTERMS.format, PARQUET))
    g.add((dist, DCTERMS.license, licence))
    g.add((dist, DCATAP.availability, STABLE))
    g.add((dist, DCAT.byteSize, Literal(snapshot.bytes, datatype=XSD.nonNegativeInteger)))


def _variables(g: Graph, snapshot, base_iri: str) -> URIRef:
    group = URIRef(f"{base_iri}dataset/{snapshot.dataset.name}/snapshot/{snapshot.release}/variables")
    g.add((group, RDF.type, CSVW.TableGroup))
    g.add((group, DCTERMS.title, Literal(f"Variables of {snapshot.ref}")))
    for table in snapshot.tables:
        t = URIRef(f"{group}/{table.name}")
        g.add((group, CSVW.table, t))
        g.add((t, RDF.type, CSVW.Table))
        g.add((t, DCTERMS.title, Literal(table.title or table.name)))
        for var in table.variables:
            col = URIRef(f"{t}/{var.name}")
            g.add((t, CSVW.column, col))
            g.add((col, RDF.type, CSVW.Column))
            g.add((col, CSVW.name, Literal(var.name)))
            g.add((col, CSVW.title, Literal(var.name)))  # HealthDCAT-AP R8; `titles` for earlier releases' shapes
            g.add((col, CSVW.titles, Literal(var.name)))
            g.add((col, DCTERMS.description, Literal(var.description or var.name, lang="fr")))
            g.add((col, CSVW.datatype, Literal(CSVW_TYPES.get(var.type, "string"))))
    return group


def export(dataset: Dataset, *, fmt: str, base_iri: str, publisher: str, email: str, namespace: str) -> str:
    graph = dataset_graph(dataset, base_iri=base_iri, publisher=publisher, email=email, namespace=namespace)
    return graph.serialize(format={"jsonld": "json-ld", "turtle": "turtle"}[fmt])

"""HealthDCAT-AP description of a dataset (CAT-01…CAT-10), with its CSVW variable list.

The healthdcatap namespace is provisional upstream (CAT-10): it comes from Settings.
"""

from __future__ import annotations

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, XSD

from bastide.catalogue.models import Dataset

CSVW = Namespace("http://www.w3.org/ns/csvw#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
CV = Namespace("http://data.europa.eu/m8g/")
EU = "http://publications.europa.eu/resource/authority/"
HEALTH_CATEGORIES = "http://healthdataportal.eu/ns/health#healthcategories/"  # hdeu NAL base (CAT-08)
EHDS = URIRef("http://data.europa.eu/eli/reg/2025/327/oj")
NON_PUBLIC = URIRef(EU + "access-right/NON_PUBLIC")
XSD_TYPES = {"string": XSD.string, "integer": XSD.integer, "number": XSD.decimal, "date": XSD.date,
             "datetime": XSD.dateTime, "boolean": XSD.boolean, "year": XSD.gYear, "yearmonth": XSD.gYearMonth}


def dataset_graph(dataset: Dataset, *, base_iri: str, publisher: str, email: str, namespace: str) -> Graph:
    hd = Namespace(namespace)
    g = Graph()
    for prefix, ns in (("dcat", DCAT), ("dct", DCTERMS), ("csvw", CSVW), ("vcard", VCARD), ("dcatap", DCATAP),
                       ("healthdcatap", hd), ("foaf", FOAF), ("cv", CV)):
        g.bind(prefix, ns)
    ds = URIRef(f"{base_iri}dataset/{dataset.name}")
    g.add((ds, RDF.type, DCAT.Dataset))
    g.add((ds, DCTERMS.identifier, Literal(dataset.name)))
    g.add((ds, DCTERMS.title, Literal(dataset.title, lang="fr")))
    g.add((ds, DCTERMS.description, Literal(dataset.description or dataset.title, lang="fr")))
    g.add((ds, DCTERMS.accessRights, NON_PUBLIC))
    g.add((ds, DCATAP.applicableLegislation, EHDS))
    g.add((ds, DCAT.theme, URIRef(EU + "data-theme/HEAL")))
    g.add((ds, DCTERMS.type, URIRef(EU + "dataset-type/STATISTICAL")))
    g.add((ds, DCTERMS.provenance, _provenance(g, dataset)))
    for keyword in dataset.keywords or [dataset.name]:
        g.add((ds, DCAT.keyword, Literal(keyword)))
    for category in dataset.health_categories:
        g.add((ds, hd.healthCategory, URIRef(HEALTH_CATEGORIES + category)))
    agent = _agent(g, base_iri, publisher, email)
    g.add((ds, DCTERMS.publisher, agent))
    g.add((ds, hd.hdab, agent))
    g.add((ds, DCAT.contactPoint, _contact(g, email)))
    published = [s for s in dataset.snapshots if s.status == "published"]
    g.add((ds, hd.hasStructuredData, Literal(True)))
    for snapshot in published:
        _distribution(g, ds, snapshot, base_iri)
    if published:
        latest = published[-1]
        g.add((ds, hd.numberOfRecords, Literal(latest.rows, datatype=XSD.nonNegativeInteger)))
        g.add((ds, hd.hasVariables, _variables(g, latest, base_iri)))
    return g


def _provenance(g: Graph, dataset: Dataset) -> BNode:
    node = BNode()
    g.add((node, RDF.type, DCTERMS.ProvenanceStatement))
    g.add((node, RDFS_LABEL, Literal(f"Ingested, validated against {dataset.schema_source} and signed by Bastide")))
    return node


RDFS_LABEL = URIRef("http://www.w3.org/2000/01/rdf-schema#label")


def _agent(g: Graph, base_iri: str, name: str, email: str) -> URIRef:
    agent = URIRef(f"{base_iri}agent/publisher")
    g.add((agent, RDF.type, FOAF.Agent))
    g.add((agent, FOAF.name, Literal(name)))
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


def _distribution(g: Graph, ds: URIRef, snapshot, base_iri: str) -> None:
    dist = URIRef(f"{base_iri}dataset/{snapshot.dataset.name}/snapshot/{snapshot.release}")
    g.add((ds, DCAT.distribution, dist))
    g.add((dist, RDF.type, DCAT.Distribution))
    g.add((dist, DCTERMS.title, Literal(snapshot.ref)))
    g.add((dist, DCAT.accessURL, URIRef(f"{base_iri}api/catalogue/datasets/{snapshot.dataset.name}")))
    g.add((dist, DCATAP.applicableLegislation, EHDS))
    g.add((dist, DCTERMS.format, URIRef(EU + "file-type/PARQUET")))
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
            g.add((col, CSVW.title, Literal(var.name)))
            g.add((col, DCTERMS.description, Literal(var.description or var.name, lang="fr")))
            g.add((col, CSVW.datatype, XSD_TYPES.get(var.type, XSD.string)))
    return group


def export(dataset: Dataset, *, fmt: str, base_iri: str, publisher: str, email: str, namespace: str) -> str:
    graph = dataset_graph(dataset, base_iri=base_iri, publisher=publisher, email=email, namespace=namespace)
    return graph.serialize(format={"jsonld": "json-ld", "turtle": "turtle"}[fmt])

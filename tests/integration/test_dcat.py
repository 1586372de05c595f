"""HealthDCAT-AP export: the properties the HealthData@EU validator requires (CAT-02…CAT-09)."""

from __future__ import annotations

import pytest
from rdflib import Graph, Namespace
from rdflib.compare import isomorphic
from rdflib.namespace import DCAT, DCTERMS, RDF

from bastide.base.ingest import IngestRequest, ingest
from bastide.catalogue import service as catalogue
from bastide.catalogue.dcat import CSVW, CV, DCATAP, NON_PUBLIC, VCARD, export
from tests.conftest import make_platform


@pytest.fixture(scope="module")
def exported(tmp_path_factory, small_delivery):
    from bastide.platform import operator_actor

    platform = make_platform(tmp_path_factory.mktemp("dcat"))
    ingest(platform, actor=operator_actor(), request=IngestRequest(str(small_delivery), "snds", "2024-12"))
    s = platform.settings
    kwargs = dict(base_iri=s.catalogue_base_iri, publisher=s.catalogue_publisher, email=s.catalogue_contact_email,
                  namespace=s.healthdcatap_namespace)
    with platform.db.unit_of_work() as session:
        dataset = catalogue.get_dataset(session, "snds")
        texts = {fmt: export(dataset, fmt=fmt, **kwargs) for fmt in ("turtle", "jsonld")}
    platform.close()
    return texts, Namespace(s.healthdcatap_namespace)


def test_mandatory_dataset_properties(exported):  # CAT-03, CAT-04
    texts, HD = exported
    g = Graph().parse(data=texts["turtle"], format="turtle")
    (ds,) = list(g.subjects(RDF.type, DCAT.Dataset))
    for prop in (DCTERMS.title, DCTERMS.description, DCTERMS.identifier, DCATAP.applicableLegislation,
                 DCAT.distribution, DCAT.theme, HD.healthCategory, DCAT.contactPoint, DCAT.keyword,
                 DCTERMS.type, DCTERMS.provenance):
        assert g.value(ds, prop) is not None, prop
    assert list(g.objects(ds, DCTERMS.accessRights)) == [NON_PUBLIC]
    hdab = g.value(ds, HD.hdab)
    assert len(list(g.objects(hdab, CV.contactPoint))) == 1
    assert g.value(g.value(hdab, CV.contactPoint), CV.email) is not None  # CAT-07
    assert g.value(g.value(ds, DCAT.contactPoint), VCARD.hasEmail) is not None


def test_distributions_and_variables(exported):  # CAT-05, CAT-06
    texts, HD = exported
    g = Graph().parse(data=texts["turtle"], format="turtle")
    (ds,) = list(g.subjects(RDF.type, DCAT.Dataset))
    for dist in g.objects(ds, DCAT.distribution):
        assert g.value(dist, DCAT.accessURL) and g.value(dist, DCATAP.applicableLegislation)
    assert g.value(ds, HD.hasStructuredData).toPython() is True
    group = g.value(ds, HD.hasVariables)
    tables = list(g.objects(group, CSVW.table))
    assert len(tables) >= 14
    columns = [c for t in tables for c in g.objects(t, CSVW.column)]
    assert len(columns) > 300
    for col in columns:
        assert len(list(g.objects(col, CSVW.name))) == 1 and len(list(g.objects(col, CSVW.datatype))) == 1
        assert g.value(col, DCTERMS.description) and g.value(col, CSVW.title)


# rdflib's own JSON-LD parser still builds a ConjunctiveGraph internally (its warning, not ours).
@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
def test_jsonld_and_turtle_say_the_same(exported):  # CAT-09
    texts, _ = exported
    assert isomorphic(Graph().parse(data=texts["turtle"], format="turtle"),
                      Graph().parse(data=texts["jsonld"], format="json-ld"))

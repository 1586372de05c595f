"""The controlled vocabularies the HealthDCAT-AP export names its concepts from (CAT-08): the EU
Publications Office's authority tables (access right, data theme, dataset type, country, language,
file type, planned availability) and HealthData@EU's own (health categories, publisher types), each
concept stating the scheme it belongs to, as the Release 8 validator's controlled-vocabulary shapes
check (`validator/controlled-vocabularies/mdr-vocabularies.shape.ttl`: a concept is accepted when it
is `skos:inScheme` of the table its property names).

The health categories are the 17 of EHDS Article 51, as coded in HealthDCAT-AP Release 8's
`validator/catalogue/healthcategories.rdf` (code.europa.eu/healthdataeu/healthdcat-ap, commit
cd7841f); the labels are that file's English ones, shortened.
"""

from __future__ import annotations

from rdflib import URIRef

from bastide.errors import InvalidInput

EU = "http://publications.europa.eu/resource/authority/"
HDEU = "https://hdeu-dcat.data.health.europa.eu/resource/authority/"

NON_PUBLIC = URIRef(EU + "access-right/NON_PUBLIC")
HEALTH = URIRef(EU + "data-theme/HEAL")
STATISTICAL = URIRef(EU + "dataset-type/STATISTICAL")
FRANCE = URIRef(EU + "country/FRA")
FRENCH = URIRef(EU + "language/FRA")
PARQUET = URIRef(EU + "file-type/PARQUET")
STABLE = URIRef(EU + "planned-availability/STABLE")
# the health data access body's type, from HealthData@EU's table (the Dataset's publisher must be)
PUBLISHER_TYPE = URIRef(HDEU + "publisher-type/national-authority")
# every concept the export names but the health categories, with its English label
LABELS = {NON_PUBLIC: "Non-public", HEALTH: "Health", STATISTICAL: "Statistical", FRANCE: "France",
          FRENCH: "French", PARQUET: "Parquet", STABLE: "Stable", PUBLISHER_TYPE: "National authority"}

HEALTH_CATEGORIES = {
    "EHRS": "Electronic health data from EHRs",
    "IDHP": "Data on the professional status, specialisation and institution of health professionals involved in "
            "the treatment of a natural person",
    "DIOH": "Data on factors impacting on health, including socio-economic, environmental and behavioural "
            "determinants",
    "NRPE": "Aggregated data on healthcare needs, resources, provision of and access to healthcare, expenditure and "
            "financing",
    "RPDG": "Data on pathogens that impact human health",
    "HRAD": "Healthcare-related administrative data, including on dispensations, reimbursement claims and "
            "reimbursements",
    "HGPD": "Human genetic, epigenomic and genomic data",
    "HPML": "Other human molecular data such as proteomic, transcriptomic, metabolomic, lipidomic and other omic data",
    "PGEH": "Personal electronic health data automatically generated through medical devices",
    "WELA": "Data from wellness applications",
    "EMRD": "Other health data from medical devices",
    "PHDR": "Data from population-based health data registries such as public health registries",
    "MRMR": "Data from medical registries and mortality registries",
    "EHCT": "Data from clinical trials, clinical studies, clinical investigations and performance studies",
    "RMMD": "Data from registries for medicinal products and medical devices",
    "RQSH": "Data from research cohorts, questionnaires and surveys related to health",
    "EINS": "Health data from biobanks and associated databases",
}


def health_category(code: str) -> URIRef:
    return URIRef(f"{HDEU}healthcategories/{code}")


def scheme_of(concept: URIRef) -> URIRef:
    """The table a concept is taken from: each of these tables names its concepts under its own IRI."""
    return URIRef(concept.rsplit("/", 1)[0])


def check_health_categories(codes) -> list[str]:
    """The codes, if each is one of the 17: a catalogue entry names its categories as the European
    catalogue knows them, or the harvester refuses the whole description."""
    unknown = sorted(set(codes) - set(HEALTH_CATEGORIES))
    if unknown:
        raise InvalidInput(f"unknown health categories {', '.join(unknown)}: they are {', '.join(HEALTH_CATEGORIES)} "
                           "(EHDS Art. 51)", code="unknown_health_category",
                           details={"field": "health_categories", "unknown": unknown,
                                    "choices": list(HEALTH_CATEGORIES)})
    return list(codes)


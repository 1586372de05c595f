"""GET /api/catalogue/...: public metadata (no row-level data ever leaves here, SPE-01)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from bastide.gate.egress import Egress, allows
from bastide.catalogue import service as catalogue
from bastide.catalogue.dcat import export
from bastide.catalogue.schemas import DatasetOut, SnapshotDetail, SnapshotOut, TableDetail
from bastide.errors import InvalidInput

# the path's names as the catalogue writes them: anything else is a 422 the document declares
DatasetName = Annotated[str, Path(pattern=catalogue.NAME.pattern, examples=["snds"])]
Release = Annotated[str, Path(pattern=catalogue.RELEASE.pattern, examples=["2024-12"])]
# a table is stored under its name (a file name: 255 bytes at most); its schema may spell it freely
TableName = Annotated[str, Path(max_length=255, examples=["ER_PRS_F"])]

router = APIRouter(prefix="/api/catalogue", tags=["catalogue"], dependencies=[allows(Egress.PUBLIC)])


@router.get("/datasets", response_model=list[DatasetOut])
def list_datasets(request: Request):
    with request.app.state.platform.db.unit_of_work() as session:
        return catalogue.public_datasets(session)


@router.get("/datasets/{name}", response_model=DatasetOut)
def get_dataset(request: Request, name: DatasetName):
    with request.app.state.platform.db.unit_of_work() as session:
        dataset = catalogue.get_dataset(session, name)
        return DatasetOut.build(dataset, catalogue.list_snapshots(session, dataset))


@router.get("/datasets/{name}/snapshots", response_model=list[SnapshotOut])
def list_snapshots(request: Request, name: DatasetName):
    with request.app.state.platform.db.unit_of_work() as session:
        return [SnapshotOut.build(s) for s in catalogue.list_snapshots(session, catalogue.get_dataset(session, name))]


@router.get("/datasets/{name}/snapshots/{release}", response_model=SnapshotDetail)
def get_snapshot(request: Request, name: DatasetName, release: Release):
    with request.app.state.platform.db.unit_of_work() as session:
        return SnapshotDetail.build(catalogue.get_snapshot(session, f"{name}@{release}"))


@router.get("/datasets/{name}/snapshots/{release}/tables/{table}", response_model=TableDetail)
def get_table(request: Request, name: DatasetName, release: Release, table: TableName):
    with request.app.state.platform.db.unit_of_work() as session:
        snapshot = catalogue.get_snapshot(session, f"{name}@{release}")
        return TableDetail.build(catalogue.get_table(snapshot, table))


MEDIA = {"jsonld": "application/ld+json", "turtle": "text/turtle"}


@router.get("/datasets/{name}/dcat", responses={200: {
    "content": {media: {} for media in MEDIA.values()}, "description": "the HealthDCAT-AP description"}})
def get_dcat(request: Request, name: DatasetName, format: str = "jsonld"):
    if format not in MEDIA:
        raise InvalidInput(f"format must be one of {sorted(MEDIA)}", details={"format": format})
    platform = request.app.state.platform
    s = platform.settings
    with platform.db.unit_of_work() as session:
        text = export(catalogue.get_dataset(session, name), fmt=format, base_iri=s.catalogue_base_iri,
                      publisher=s.catalogue_publisher, email=s.catalogue_contact_email, namespace=s.healthdcatap_namespace)
    return Response(text, media_type=MEDIA[format])

"""Lead fields, lead sources and campaigns as stored: their specs with their ids."""

from __future__ import annotations

from dataclasses import dataclass

from server.domain.catalog.fields import FieldSpec
from server.domain.catalog.specs import CampaignSpec, SourceSpec


@dataclass(frozen=True)
class StoredField:
    """A lead field as stored, with its lead type and its place in the lead type's list."""

    lead_type_id: int
    spec: FieldSpec  # spec.id is the field's id
    position: int


@dataclass(frozen=True)
class StoredSource:
    """A lead source as stored: its id, and its password's hash instead of the password."""

    id: int
    spec: SourceSpec  # password is None; see password_hash
    password_hash: str | None
    # the id (FIPS code) of the US state spec.state names, 0 none: the use cases answer it
    # from the reference data (storage does not know it and leaves 0)
    state_id: int = 0


@dataclass(frozen=True)
class StoredCampaign:
    """A campaign as stored: its id, and its password's hash instead of the password."""

    id: int
    spec: CampaignSpec  # password is None; see password_hash
    password_hash: str | None

"""Buyers, their delivery methods and delivery accounts as stored: their specs with their ids."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from server.domain.buyers.specs import ClientSpec, DeliveryAccountSpec, DeliveryMethod
from server.domain.geo import States
from server.domain.sales.orders import StoredOrder


@dataclass(frozen=True)
class StoredDelivery:
    """A buyer's delivery method as stored, with its id and its buyer's."""

    id: int
    client_id: int
    method: DeliveryMethod  # its settings hold the secrets: show them through public_settings
    created_at: datetime
    # its lead type's field ids by lower-cased name, where read for an answer (mappings' ids)
    field_ids: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredDeliveryAccount:
    """A buyer's delivery account as stored, with its id and its buyer's."""

    id: int
    client_id: int
    spec: DeliveryAccountSpec  # spec.delivery_id is its delivery method
    # its lead type's field ids by lower-cased name, where read for an answer (criteria ids)
    field_ids: Mapping[str, int] = field(default_factory=dict)
    offer_id: int = 0  # its static offer's stable id; 0 = none


@dataclass(frozen=True)
class StoredClient:
    """A buyer as stored, with its delivery methods, delivery accounts and orders."""

    id: int
    spec: ClientSpec  # password is None; see has_password
    has_password: bool
    created_at: datetime
    deliveries: tuple[StoredDelivery, ...]
    delivery_accounts: tuple[StoredDeliveryAccount, ...]
    orders: tuple[StoredOrder, ...]
    group_id: int = 0  # the id of the client group it names; 0 = none
    # the id (FIPS code) of the US state its state names, 0 none: the use cases answer it
    # from the reference data (located; storage does not know it and leaves 0)
    state_id: int = 0

    def located(self, states: States) -> StoredClient:
        """The buyer with the id of the state it names."""
        return replace(self, state_id=states.id_of(self.spec.contact.get("state", "")))


@dataclass(frozen=True)
class ClientGroup:
    """A client group, with how many of the account's buyers are in it."""

    name: str
    client_count: int
    id: int = 0  # ClientGroupUID
    display_order: int = 0


@dataclass(frozen=True)
class BuyerContact:
    """A buyer's name, contact details and notes, as the manual operations show them."""

    id: int
    name: str
    contact: dict[str, str]
    notes: str

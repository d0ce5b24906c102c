"""leadrouter.v1.MarketplaceService: translates messages and calls the marketplace's use
cases (records, pack purchases, aged leads and data pulls)."""

from __future__ import annotations

import enum
from decimal import Decimal, InvalidOperation
from typing import Any, TypeAlias, TypeVar

from leadrouter.v1 import buyers_pb2, marketplace_pb2, marketplace_pb2_grpc

from server.domain.catalog.rules import Operator
from server.domain.matching.criteria import Criterion, CriterionType
from server.domain.sales.marketplace import (
    LeadPack,
    Named,
    NamedKind,
    PackStatus,
    PackType,
    PromoCode,
)
from server.errors import InvalidArgument, Violation
from server.rpc.convert import decimal_text, moment, order_message, stamp
from server.rpc.interceptor import caller
from server.services.marketplace.aged import AgedLeads, AgedSearch, PullEdit
from server.services.marketplace.catalog import MarketplaceCatalog
from server.services.marketplace.purchases import PackPurchases

Context: TypeAlias = Any  # grpc.aio.ServicerContext; grpc ships no type stubs
E = TypeVar("E", bound=enum.IntEnum)


def _account() -> int:
    return caller().account_id


def _enum(kind: type[E], number: int, where: str) -> E:
    try:
        return kind(number)
    except ValueError:
        raise InvalidArgument([Violation(where, f"unknown value {number}")]) from None


def _money(text: str, where: str) -> Decimal:
    """A decimal string from the wire ('' is 0); negative amounts are refused by the rules."""
    try:
        amount = Decimal(text.strip() or "0")
    except InvalidOperation:
        raise InvalidArgument(
            [Violation(where, f"{text[:30]!r} is not a decimal number")]
        ) from None
    if not amount.is_finite():
        raise InvalidArgument([Violation(where, f"{text[:30]!r} is not a decimal number")])
    return amount


def criteria_of(messages: Any, where: str = "criteria") -> tuple[Criterion, ...]:
    found = []
    for index, c in enumerate(messages):
        path = f"{where}[{index}]"
        kind = _enum(CriterionType, c.type, f"{path}.type")
        found.append(
            Criterion(
                CriterionType.FieldValue if kind is CriterionType.Unspecified else kind,
                c.field,
                _enum(Operator, c.operator, f"{path}.operator"),
                c.value,
                c.expression,
                c.field_id,
                max(c.id, 0),
            )
        )
    return tuple(found)


def criterion_message(c: Criterion) -> buyers_pb2.Criterion:
    return buyers_pb2.Criterion(
        type=int(c.type),  # type: ignore[arg-type]
        field=c.field,
        operator=int(c.operator),  # type: ignore[arg-type]
        value=c.value,
        expression=c.expression,
        field_id=c.field_id,
        id=c.id,
    )


def named_message(named: Named) -> marketplace_pb2.Named:
    return marketplace_pb2.Named(id=named.id, name=named.name)


def pack_of(message: marketplace_pb2.LeadPack) -> LeadPack:
    return LeadPack(
        id=max(message.id, 0),
        description=message.description,
        pack_type=_enum(PackType, message.pack_type, "pack_type"),
        lead_type_id=message.lead_type_id,
        quantity=message.quantity,
        price=_money(message.price, "price"),
        lead_category_id=message.lead_category_id,
        pack_category_id=message.pack_category_id,
        reseller_id=message.reseller_id,
        expires_at=moment(message, "expires_at"),
        start_day=message.start_day,
        end_day=message.end_day,
        order_min=message.order_min,
        order_max=message.order_max,
        include_over_max=message.include_over_max,
        criteria=criteria_of(message.criteria),
        status=_enum(PackStatus, message.status, "status"),
    )


def pack_message(pack: LeadPack, account_id: int) -> marketplace_pb2.LeadPack:
    message = marketplace_pb2.LeadPack(
        id=pack.id,
        account_id=account_id,
        description=pack.description,
        pack_type=int(pack.pack_type),  # type: ignore[arg-type]
        lead_type_id=pack.lead_type_id,
        lead_type_name=pack.lead_type_name,
        lead_category_id=pack.lead_category_id,
        pack_category_id=pack.pack_category_id,
        reseller_id=pack.reseller_id,
        quantity=pack.quantity,
        price=decimal_text(pack.price),
        start_day=pack.start_day,
        end_day=pack.end_day,
        order_min=pack.order_min,
        order_max=pack.order_max,
        include_over_max=pack.include_over_max,
        criteria=[criterion_message(c) for c in pack.criteria],
        status=int(pack.status),  # type: ignore[arg-type]
    )
    stamp(message.expires_at, pack.expires_at)
    return message


def promo_of(message: marketplace_pb2.PromoCode) -> PromoCode:
    return PromoCode(
        id=max(message.id, 0),
        code=message.code,
        money_value=_money(message.money_value, "money_value"),
        percent_value=_money(message.percent_value, "percent_value"),
        reseller_id=message.reseller_id,
        expires_at=moment(message, "expires_at"),
        use_limit=message.use_limit,
        client_id=message.client_id,
        pack_ids=tuple(message.pack_ids),
    )


def promo_message(promo: PromoCode) -> marketplace_pb2.PromoCode:
    message = marketplace_pb2.PromoCode(
        id=promo.id,
        reseller_id=promo.reseller_id,
        code=promo.code,
        money_value=decimal_text(promo.money_value),
        percent_value=decimal_text(promo.percent_value),
        use_limit=promo.use_limit,
        client_id=promo.client_id,
        pack_ids=list(promo.pack_ids),
        uses=promo.uses,
    )
    stamp(message.expires_at, promo.expires_at)
    return message


class MarketplaceServicer(marketplace_pb2_grpc.MarketplaceServiceServicer):
    """The marketplace of an account."""

    def __init__(
        self, catalog: MarketplaceCatalog, purchases: PackPurchases, aged: AgedLeads
    ) -> None:
        self._catalog = catalog
        self._purchases = purchases
        self._aged = aged

    async def _save_named(
        self, kind: NamedKind, request: marketplace_pb2.Named
    ) -> marketplace_pb2.Named:
        saved = await self._catalog.save_named(
            _account(), kind, Named(max(request.id, 0), request.name)
        )
        return named_message(saved)

    async def _list_named(self, kind: NamedKind) -> marketplace_pb2.ListNamedResponse:
        found = await self._catalog.list_named(_account(), kind)
        return marketplace_pb2.ListNamedResponse(items=[named_message(n) for n in found])

    async def SaveLeadCategory(
        self, request: marketplace_pb2.Named, context: Context
    ) -> marketplace_pb2.Named:
        return await self._save_named("lead_category", request)

    async def ListLeadCategories(
        self, request: marketplace_pb2.ListNamedRequest, context: Context
    ) -> marketplace_pb2.ListNamedResponse:
        return await self._list_named("lead_category")

    async def SaveReseller(
        self, request: marketplace_pb2.Named, context: Context
    ) -> marketplace_pb2.Named:
        return await self._save_named("reseller", request)

    async def ListResellers(
        self, request: marketplace_pb2.ListNamedRequest, context: Context
    ) -> marketplace_pb2.ListNamedResponse:
        return await self._list_named("reseller")

    async def SaveLeadPackCategory(
        self, request: marketplace_pb2.Named, context: Context
    ) -> marketplace_pb2.Named:
        return await self._save_named("pack_category", request)

    async def ListLeadPackCategories(
        self, request: marketplace_pb2.ListNamedRequest, context: Context
    ) -> marketplace_pb2.ListNamedResponse:
        return await self._list_named("pack_category")

    async def SaveLeadPack(
        self, request: marketplace_pb2.LeadPack, context: Context
    ) -> marketplace_pb2.LeadPack:
        return pack_message(await self._catalog.save_pack(_account(), pack_of(request)), _account())

    async def ListLeadPacks(
        self, request: marketplace_pb2.ListLeadPacksRequest, context: Context
    ) -> marketplace_pb2.ListLeadPacksResponse:
        packs = await self._catalog.list_packs(
            _account(),
            pack_id=request.id,
            pack_category_id=request.pack_category_id,
            pack_type=_enum(PackType, request.pack_type, "pack_type"),
            reseller_id=request.reseller_id,
        )
        return marketplace_pb2.ListLeadPacksResponse(
            packs=[pack_message(p, _account()) for p in packs]
        )

    async def SavePromoCode(
        self, request: marketplace_pb2.PromoCode, context: Context
    ) -> marketplace_pb2.PromoCode:
        return promo_message(await self._catalog.save_promo(_account(), promo_of(request)))

    async def ListPromoCodes(
        self, request: marketplace_pb2.ListPromoCodesRequest, context: Context
    ) -> marketplace_pb2.ListPromoCodesResponse:
        promos = await self._catalog.list_promos(_account(), request.reseller_id)
        return marketplace_pb2.ListPromoCodesResponse(
            promo_codes=[promo_message(p) for p in promos]
        )

    async def BuyLeadPack(
        self, request: marketplace_pb2.BuyLeadPackRequest, context: Context
    ) -> marketplace_pb2.BuyLeadPackResponse:
        bought = await self._purchases.buy(
            _account(),
            client_id=request.client_id,
            delivery_account_id=request.delivery_account_id,
            pack_id=request.pack_id,
            quantity=request.quantity,
            promo_code=request.promo_code,
        )
        return marketplace_pb2.BuyLeadPackResponse(
            purchase_id=bought.id,
            order=order_message(bought.order),
            list_price=decimal_text(bought.price.list_price),
            discount=decimal_text(bought.price.discount),
            price=decimal_text(bought.price.charged),
            promo_id=bought.promo_id,
        )

    async def FindAgedLeads(
        self, request: marketplace_pb2.FindAgedLeadsRequest, context: Context
    ) -> marketplace_pb2.FindAgedLeadsResponse:
        found = await self._aged.search(
            _account(),
            AgedSearch(
                client_id=request.client_id,
                lead_type_id=request.lead_type_id,
                start_day=request.start_day,
                end_day=request.end_day,
                delivery_account_id=request.delivery_account_id,
                lead_category_id=request.lead_category_id,
                use_over_max=request.use_over_max,
                criteria=criteria_of(request.criteria),
                lead_price=_money(request.lead_price, "lead_price"),
                limit=request.limit,
            ),
        )
        leads = []
        for lead in found:
            message = marketplace_pb2.AgedLead(
                lead_id=lead.lead_id,
                price=decimal_text(lead.price),
                campaign_id=lead.campaign_id,
                sold=lead.sold,
            )
            stamp(message.received_at, lead.received_at)
            leads.append(message)
        return marketplace_pb2.FindAgedLeadsResponse(leads=leads)

    async def SaveDataPull(
        self, request: marketplace_pb2.DataPull, context: Context
    ) -> marketplace_pb2.SaveDataPullResponse:
        saved = await self._aged.save_pull(
            _account(),
            PullEdit(
                id=max(request.id, 0),
                client_id=request.client_id,
                delivery_account_id=request.delivery_account_id,
                leads="|".join(str(i) for i in request.lead_ids),
                total_price=_money(request.total_price, "total_price"),
                status=request.status,
                card_transaction_id=request.card_transaction_id,
            ),
        )
        pull = saved.pull
        message = marketplace_pb2.DataPull(
            id=pull.id,
            client_id=pull.client_id,
            delivery_account_id=pull.delivery_account_id,
            lead_ids=list(pull.lead_ids),
            total_price=decimal_text(pull.total_price),
            status=pull.status,
            card_transaction_id=pull.card_transaction_id,
        )
        stamp(message.created_at, pull.created_at)
        return marketplace_pb2.SaveDataPullResponse(
            pull=message,
            sold_lead_ids=saved.sold,
            already_pulled_lead_ids=saved.already_pulled,
        )

    async def ExportDataPull(
        self, request: marketplace_pb2.ExportDataPullRequest, context: Context
    ) -> marketplace_pb2.ExportDataPullResponse:
        csv, count = await self._aged.export(_account(), request.id)
        return marketplace_pb2.ExportDataPullResponse(csv=csv, leads=count)

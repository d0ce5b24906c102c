"""The account index screens a lead as `screen` does account by account, only faster.

The main test is differential: random markets of delivery accounts (every criterion type,
schedules, inactive buyers, disabled accounts and delivery methods, automation off) screened
for many random leads (missing values, unknown ZIPs, times across the week and both DST
changes), compared with the plain `screen` of every account.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from server.domain.buyers.schedule import END_OF_DAY, DayWindow
from server.domain.buyers.specs import AccountType, ClientStatus
from server.domain.caps import Caps
from server.domain.catalog.fields import DataType, FieldSpec, Value
from server.domain.catalog.rules import Operator
from server.domain.catalog.specs import Status
from server.domain.delivery.spec import DeliverySpec, DeliveryType
from server.domain.matching.criteria import Criterion, CriterionType, EvalContext, compile_criteria
from server.domain.matching.delivery_index import DeliveryAccountIndex
from server.domain.matching.eligibility import DeliveryAccountView, Screened, screen
from server.domain.matching.selection import Automation

SPECS = (
    FieldSpec("State"),
    FieldSpec("Zip"),
    FieldSpec("Age", DataType.Int),
    FieldSpec("Credit"),
    FieldSpec("Consent", DataType.Bit),
    FieldSpec("Income", DataType.Money),
    FieldSpec("Score", DataType.Float),
    FieldSpec("DOB", DataType.DateTime),
    FieldSpec("Email"),
)
FIELDS = {spec.name.casefold(): spec for spec in SPECS}
STATES = ["CA", "NV", "AZ", "OR", "TX", "NY", "FL", "IL"]
# Fake ZIP centroids: a great-circle distance between them, as `zip_codes` measures.
PLACES = {
    "89101": (36.17, -115.14),
    "89052": (36.0, -115.0),
    "89003": (36.9, -116.75),
    "90001": (33.97, -118.25),
    "94103": (37.77, -122.41),
    "85001": (33.45, -112.07),
    "10001": (40.75, -73.99),
    "60601": (41.88, -87.62),
    "33101": (25.77, -80.19),
    "99501": (61.2, -149.9),
    "96813": (21.3, -157.85),
}
LEAD_ZIPS = [*PLACES, "89101-1234", "891011234", "00000", "1234", " 10001 "]
ZONES = [ZoneInfo(name) for name in ("America/Los_Angeles", "America/Phoenix", "America/New_York")]
ZONES.append(ZoneInfo("UTC"))
EXPRESSIONS = [
    "Age >= 25 or Credit == 'Excellent'",
    "not contains(Email, 'test')",
    "hour() >= 9 and hour() < 17",
    "weekday() < 5",
    "age_years(DOB) >= 30",
    "Income > 50000",
]
Make = Callable[[random.Random], Criterion]
Kind = CriterionType


def locate(zip_code: str) -> tuple[float, float] | None:
    return PLACES.get(zip_code)


def distance_miles(zip_a: str, zip_b: str) -> float | None:
    a, b = locate(zip_a.strip()[:5]), locate(zip_b.strip()[:5])
    if a is None or b is None:
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 3958.8 * math.asin(math.sqrt(h))


def field(name: str, op: Operator, value: str) -> Criterion:
    return Criterion(CriterionType.FieldValue, name, op, value)


def some_states(rng: random.Random) -> str:
    chosen = rng.sample(STATES, rng.randint(1, 4))
    return ",".join(s.lower() if rng.random() < 0.2 else s for s in chosen)


CRITERIA: list[Make] = [
    lambda rng: field("State", Operator.In, some_states(rng)),
    lambda rng: field("State", Operator.NotIn, some_states(rng)),
    lambda rng: field("State", Operator.Equal, rng.choice(STATES)),
    lambda rng: field("State", Operator.NotEqual, rng.choice(STATES)),
    lambda rng: field(
        "Zip",
        Operator.Distance_Compare,
        f"{rng.choice(list(PLACES))},{rng.choice(['5', '50', '75.5', '300', '2500'])}",
    ),
    lambda rng: field("Zip", Operator.NotIn, ",".join(rng.sample(list(PLACES), 3))),
    lambda rng: field("Zip", Operator.In, ",".join(rng.sample(list(PLACES), 5))),
    lambda rng: field("Age", Operator.GreaterOrEqual, rng.choice(["18", "21", "25"])),
    lambda rng: field("Age", Operator.Between, "21,65"),
    lambda rng: field("Age", Operator.In, "30,40,+50"),
    lambda rng: field("Credit", Operator.In, rng.choice(["Excellent,Good", "excellent", "Fair"])),
    lambda rng: field("Consent", Operator.Equal, rng.choice(["1", "true", "no"])),
    lambda rng: field("Consent", Operator.NotEqual, "yes"),
    lambda rng: field("Income", Operator.In, "50000,75000.00,$100000"),
    lambda rng: field("Income", Operator.Greater, "60000.5"),
    lambda rng: field("Score", Operator.In, "1.5,2,3.25"),
    lambda rng: field("Score", Operator.Less, "2.5"),
    lambda rng: field("DOB", Operator.DateCompare, rng.choice([">=18y", "<40y", "!=0d"])),
    lambda rng: field("DOB", Operator.Equal, "1990-05-17"),
    lambda rng: field("Email", Operator.Contains, "example"),
    lambda rng: field("Email", Operator.Doesnt_Contain, "test"),
    lambda rng: Criterion(Kind.Expression, "", Operator.Unspecified, "", rng.choice(EXPRESSIONS)),
    lambda rng: Criterion(Kind.Expression, "", Operator.Greater, "20", "len(Email)"),
    lambda rng: Criterion(Kind.Function, "DOB", Operator.GreaterOrEqual, "21", "age_years"),
    lambda rng: Criterion(Kind.Function, "Email", Operator.Doesnt_Contain, "org", "lower"),
]  # fmt: skip


def windows(rng: random.Random) -> tuple[DayWindow, ...]:
    roll = rng.random()
    if roll < 0.5:
        return ()
    if roll < 0.8:  # business hours, Saturday mornings
        days = [DayWindow(day, time(8), time(20)) for day in range(5)]
        return (*days, DayWindow(5, time(9), time(13)))
    # overnight, as two windows a night, and half an hour that clocks skip in spring
    nights = [DayWindow(day, time(22), END_OF_DAY) for day in range(7)]
    mornings = [DayWindow(day, time(0), time(1, 59)) for day in range(7)]
    return (*nights, *mornings, DayWindow(6, time(2, 30), time(3)))


def view(
    rng: random.Random, number: int, client: int, client_status: ClientStatus
) -> DeliveryAccountView:
    # Mostly the big states first, as buyers write them; otherwise any order.
    criteria = [rng.choice(CRITERIA)(rng) for _ in range(rng.randint(0, 5))]
    if rng.random() < 0.6:
        criteria.insert(0, CRITERIA[0](rng))
    return DeliveryAccountView(
        id=number,
        key=f"a{number}",
        description="" if rng.random() < 0.5 else f"account {number}",
        client_id=client,
        client_name=f"Buyer {client}",
        client_status=client_status,
        tz=rng.choice(ZONES),
        automation=Automation.Price,
        secondary=Automation.Unspecified,
        priority=1,
        weight=1,
        use_tiers=False,
        status=Status.Active if rng.random() < 0.9 else Status.Disabled,
        automation_enabled=rng.random() < 0.9,
        price=Decimal(rng.randint(5, 60)),
        caps=Caps(),
        delivery_delay_seconds=0,
        redirect_url="",
        account_type=AccountType.Standard,
        agent_name="",
        agent_phone="",
        delivery_id=client,
        delivery_name="post",
        delivery_enabled=rng.random() < 0.95,
        delivery=DeliverySpec(DeliveryType.HttpPost, address="http://127.0.0.1:9/buy"),
        windows=windows(rng),
        criteria=compile_criteria(criteria, FIELDS),
    )


def market(rng: random.Random, accounts: int) -> list[DeliveryAccountView]:
    """Buyers of one to four accounts, a few of them not Active."""
    views: list[DeliveryAccountView] = []
    client = 0
    while len(views) < accounts:
        client += 1
        status = ClientStatus.Active if rng.random() < 0.9 else rng.choice(list(ClientStatus))
        for _ in range(rng.randint(1, 4)):
            views.append(view(rng, len(views) + 1, client, status))
    return views


def lead(rng: random.Random) -> dict[str, Value]:
    """A lead's typed values keyed by casefolded name; each value missing now and then."""
    born = datetime(1950, 1, 1) + timedelta(days=rng.randint(0, 27_000))
    values: dict[str, Value] = {
        "state": rng.choice([*STATES, "ca", "WA"]),
        "zip": rng.choice(LEAD_ZIPS),
        "age": rng.randint(16, 80),
        "credit": rng.choice(["Excellent", "GOOD", "Fair", "Poor"]),
        "consent": rng.random() < 0.7,
        "income": rng.choice(["50000", "75000.00", "100000", "60000.50", "12.5"]),
        "score": rng.choice([1.5, 2.0, 3.25, 4.0]),
        "dob": rng.choice([born.date().isoformat(), born.isoformat() + "+00:00", "1990-05-17"]),
        "email": rng.choice(["ann@example.com", "test@example.org", "bob@mail.net"]),
    }
    return {name: value for name, value in values.items() if rng.random() > 0.12}


def moment(rng: random.Random) -> datetime:
    """An instant in a fortnight around one of the DST changes, or in an ordinary week."""
    start = rng.choice([(2026, 3, 1), (2026, 10, 25), (2026, 6, 1)])
    return datetime(*start, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 14 * 24 * 60))


def plain(
    views: list[DeliveryAccountView],
    values: dict[str, Value],
    context: EvalContext,
    automated: bool,
) -> list[Screened]:
    return [screen(v, values, context, automated_only=automated) for v in views]


@pytest.mark.parametrize("seed", range(6))
def test_the_index_screens_every_account_as_screen_does(seed: int) -> None:
    rng = random.Random(seed)
    views = market(rng, 160)
    index = DeliveryAccountIndex(views)
    for number in range(50):
        values = lead(rng)
        # The engine's context is in UTC; ZIPs located for half the leads (as the engine will)
        located = locate if number % 2 else None
        context = EvalContext(moment(rng), ZoneInfo("UTC"), distance_miles, located)
        for automated in (True, False):
            expected = plain(views, values, context, automated)
            screening = index.screen(values, context, automated_only=automated)
            assert screening.passing == [s.view for s in expected if not s.reason]
            assert screening.reasons() == [s.reason for s in expected]
            assert list(screening) == expected


def kind(reason: str) -> str:
    """What a reason is about: `buyer`, `delivery schedule closed`, or the criterion's subject
    (`State`, `expression`, `lower(Email)`)."""
    if reason.startswith("criteria failed: "):
        subject = reason.removeprefix("criteria failed: ")
        return subject.replace("=", " ").replace(":", " ").split(" ")[0]
    return reason.split(" is ")[0]


def test_the_markets_meet_every_way_to_be_passed_over() -> None:
    """The differential test is only as good as the variety it meets."""
    rng = random.Random(0)
    views = market(rng, 160)
    index = DeliveryAccountIndex(views)
    seen = set()
    for _ in range(50):
        context = EvalContext(moment(rng), ZoneInfo("UTC"), distance_miles, locate)
        seen |= {kind(reason) for reason in index.screen(lead(rng), context).reasons()}
    assert seen >= {
        "",
        "buyer",
        "account",
        "delivery method",
        "automation",
        "delivery schedule closed",
        "State",
        "Zip",
        "Age",
        "Credit",
        "Consent",
        "Income",
        "Score",
        "DOB",
        "Email",
        "expression",
        "age_years(DOB)",
        "lower(Email)",
    }


def test_a_screening_reads_as_the_sequence_of_screened_accounts() -> None:
    rng = random.Random(1)
    views = market(rng, 40)
    context = EvalContext(moment(rng), ZoneInfo("UTC"), distance_miles, locate)
    values = lead(rng)
    screening = DeliveryAccountIndex(views).screen(values, context)
    expected = plain(views, values, context, True)
    assert len(screening) == len(views)
    assert screening[0] == expected[0] and screening[-1] == expected[-1]
    assert screening[3:9] == expected[3:9]
    assert screening.views == tuple(views)


def test_an_index_of_no_accounts_passes_nobody() -> None:
    context = EvalContext(datetime(2026, 3, 2, 12, tzinfo=UTC), ZoneInfo("UTC"), distance_miles)
    screening = DeliveryAccountIndex([]).screen({"state": "CA"}, context)
    assert screening.passing == [] and screening.reasons() == [] and list(screening) == []


def test_checking_one_account_is_screening_it() -> None:
    rng = random.Random(2)
    views = market(rng, 30)
    index = DeliveryAccountIndex(views)
    for _ in range(20):
        values, context = lead(rng), EvalContext(moment(rng), ZoneInfo("UTC"), distance_miles)
        for v in views:
            assert index.check(v, values, context) == screen(v, values, context)


def account(
    *criteria: Criterion, client_status: ClientStatus = ClientStatus.Active
) -> DeliveryAccountView:
    """An account open at all hours, taking leads but for `criteria`."""
    return replace(
        view(random.Random(3), 1, 1, client_status),
        status=Status.Active,
        delivery_enabled=True,
        automation_enabled=True,
        windows=(),
        criteria=compile_criteria(list(criteria), FIELDS),
    )


def test_a_value_a_criterion_cannot_read_fails_as_screen_fails() -> None:
    views = [account(field("Income", Operator.In, "50000"))]
    context = EvalContext(datetime(2026, 3, 2, 12, tzinfo=UTC), ZoneInfo("UTC"), distance_miles)
    values: dict[str, Value] = {"income": "a lot"}
    with pytest.raises(ArithmeticError):
        screen(views[0], values, context)
    with pytest.raises(ArithmeticError):
        DeliveryAccountIndex(views).screen(values, context)


def test_a_value_no_account_reaches_fails_nothing() -> None:
    """`screen` never tests the criteria of an inactive buyer; neither does the index."""
    views = [
        account(field("Income", Operator.In, "50000"), client_status=ClientStatus.Dead),
        account(field("State", Operator.In, "CA")),
    ]
    context = EvalContext(datetime(2026, 3, 2, 12, tzinfo=UTC), ZoneInfo("UTC"), distance_miles)
    values: dict[str, Value] = {"income": "a lot", "state": "ca"}
    screening = DeliveryAccountIndex(views).screen(values, context)
    assert screening.reasons() == ["buyer is Dead", ""]
    assert list(screening) == plain(views, values, context, True)


def test_centres_out_of_reach_are_not_measured_when_zips_can_be_located() -> None:
    radii = {"89101": "150", "89052": "50", "10001": "50", "33101": "50", "96813": "50"}
    views = [account(field("Zip", Operator.Distance_Compare, f"{c},{m}")) for c, m in radii.items()]
    measured: list[str] = []

    def counting(zip_a: str, zip_b: str) -> float | None:
        measured.append(zip_b)
        return distance_miles(zip_a, zip_b)

    when = datetime(2026, 3, 2, 12, tzinfo=UTC)
    values: dict[str, Value] = {"zip": "89003"}  # about 100 miles from Las Vegas
    index = DeliveryAccountIndex(views)
    screening = index.screen(values, EvalContext(when, ZoneInfo("UTC"), counting, locate))
    assert screening.passing == views[:1]
    assert sorted(measured) == ["89052", "89101"]
    measured.clear()
    unlocated = index.screen(values, EvalContext(when, ZoneInfo("UTC"), counting))
    assert sorted(measured) == sorted(radii)
    assert unlocated.reasons() == screening.reasons()
    expected = plain(views, values, EvalContext(when, ZoneInfo("UTC"), distance_miles), True)
    assert screening.reasons() == [s.reason for s in expected]

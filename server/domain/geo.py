"""US states and ZIP codes: looking them up, and the ZIP codes within a distance of another.

Pure: the reference data is loaded by server/adapters/us_places.py and handed in. A radius
search reads only the cells of a half-degree grid that the radius reaches, and measures the
great-circle distance of the ZIP codes in them (bench/zip_radius.py prints the times)."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from server.errors import InvalidArgument, NotFound, Violation

EARTH_RADIUS_MILES = 3958.8
MILES_PER_DEGREE_LATITUDE = 69.0
MAX_MILES = 500.0
_COUNTY_WORDS = re.compile(
    r"\s+(county|parish|borough|census area|municipality|city and borough|municipio)$"
)


@dataclass(frozen=True)
class State:
    id: int  # the FIPS state code
    name: str
    abbreviation: str


@dataclass(frozen=True)
class Place:
    """A ZIP code and where it is."""

    zip_code: str
    state: str  # postal abbreviation
    county: str  # as the data names it ("Orange County")
    county_fips: str  # five digits; "" when the county has no code
    latitude: float
    longitude: float


class States:
    """The US states, the District of Columbia and the territories, by id (the FIPS code:
    LeadExec's StateUID), postal abbreviation or name."""

    def __init__(self, states: Iterable[State]) -> None:
        self.all = sorted(states, key=lambda s: s.name)
        self._by_id = {state.id: state for state in self.all}
        self._named: dict[str, State] = {}
        for state in self.all:
            for name in (state.abbreviation, state.name, str(state.id), f"{state.id:02d}"):
                self._named[name.casefold()] = state

    def named(self, name: str) -> State | None:
        """The state a postal abbreviation, a name or a FIPS code names, in any case."""
        return self._named.get(name.strip().casefold())

    def with_id(self, state_id: int) -> State | None:
        return self._by_id.get(state_id)

    def id_of(self, name: str) -> int:
        """The id of the state `name` names (as `named` reads it); 0 when none."""
        found = self.named(name)
        return found.id if found is not None else 0

    def text_for(self, text: str, state_id: int, where: str) -> str:
        """The state text to keep when a state is given by id (LeadExec's StateUID) beside
        `text`: `text` when the id is 0 or `text` names the same state, else the state's postal
        abbreviation when `text` is empty. An id of no state (at `where`.state_id), or a `text`
        naming another state (at `where`.state), is InvalidArgument."""
        if not state_id:
            return text
        found = self.with_id(state_id)
        if found is None:
            reason = f"no US state has id {state_id} (see GetStateList)"
            raise InvalidArgument([Violation(f"{where}.state_id", reason)])
        if not text.strip():
            return found.abbreviation
        if self.named(text) != found:
            reason = f"{text!r} is not state {state_id} ({found.abbreviation})"
            raise InvalidArgument([Violation(f"{where}.state", reason)])
        return text


CELL = 0.5  # degrees: the grid the radius search reads cells of
_COLUMNS = round(360 / CELL)


def _cell(latitude: float, longitude: float) -> tuple[int, int]:
    return math.floor(latitude / CELL), _wrap(math.floor(longitude / CELL))


def _wrap(column: int) -> int:
    """Columns of the grid around the globe: the Aleutians cross the antimeridian."""
    return (column + _COLUMNS // 2) % _COLUMNS - _COLUMNS // 2


def county_key(name: str) -> str:
    """A county name as people write it, to compare: "Orange County", "orange" -> "orange"."""
    plain = " ".join(name.casefold().replace(".", "").split())
    return _COUNTY_WORDS.sub("", plain)


def miles_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    la1, lo1, la2, lo2 = map(math.radians, (lat1, lon1, lat2, lon2))
    h = (
        math.sin((la2 - la1) / 2) ** 2
        + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_MILES * math.asin(min(1.0, math.sqrt(h)))


class Gazetteer:
    """The states and ZIP codes, indexed for the lookups of GeoService."""

    def __init__(self, states: Iterable[State], places: Iterable[Place]) -> None:
        self._states = States(states)
        self.states = self._states.all
        self._places = {p.zip_code: p for p in places}
        by_state: dict[str, list[str]] = defaultdict(list)
        by_county: dict[tuple[str, str], list[str]] = defaultdict(list)
        by_fips: dict[str, list[str]] = defaultdict(list)
        for place in sorted(self._places.values(), key=lambda p: p.zip_code):
            by_state[place.state].append(place.zip_code)
            by_county[(place.state, county_key(place.county))].append(place.zip_code)
            if place.county_fips:
                by_fips[place.county_fips].append(place.zip_code)
        self._by_state, self._by_county, self._by_fips = by_state, by_county, by_fips
        cells: dict[tuple[int, int], list[Place]] = defaultdict(list)
        for place in self._places.values():
            cells[_cell(place.latitude, place.longitude)].append(place)
        self._cells = dict(cells)

    def place(self, zip_code: str) -> Place | None:
        return self._places.get(zip_code)

    @property
    def places(self) -> list[Place]:
        return list(self._places.values())

    def state(self, name: str) -> State:
        text = name.strip()
        if not text:
            raise InvalidArgument("state is required: a postal abbreviation, a name or a FIPS code")
        found = self._states.named(text)
        if found is None:
            raise NotFound(f"no US state {text!r}")
        return found

    def in_state(self, name: str) -> list[str]:
        return list(self._by_state.get(self.state(name).abbreviation, ()))

    def in_county(self, county: str, state: str) -> list[str]:
        where = self.state(state)
        if not county.strip():
            raise InvalidArgument("county is required")
        found = self._by_county.get((where.abbreviation, county_key(county)))
        if not found:
            raise NotFound(f"no county {county.strip()!r} in {where.abbreviation}")
        return list(found)

    def with_fips(self, code: str) -> list[str]:
        text = code.strip()
        if not (text.isascii() and text.isdigit() and len(text) in (2, 5)):
            raise InvalidArgument(f"FIPS code {text!r}: give 5 digits (county) or 2 (state)")
        if len(text) == 2:
            return self.in_state(text)
        found = self._by_fips.get(text)
        if not found:
            raise NotFound(f"no county with FIPS code {text}")
        return list(found)

    def within(self, zip_code: str, miles: float, in_state: bool = False) -> list[str]:
        """The ZIP codes whose centres are within `miles` of the ZIP code's centre, nearest
        first (ties by code), the centre first."""
        text = zip_code.strip()[:5]
        if not (len(text) == 5 and text.isascii() and text.isdigit()):
            raise InvalidArgument(f"ZIP code {zip_code.strip()!r}: give five digits")
        if not (math.isfinite(miles) and 0 <= miles <= MAX_MILES):
            raise InvalidArgument(f"miles must be from 0 to {MAX_MILES:g}, got {miles}")
        centre = self._places.get(text)
        if centre is None:
            raise NotFound(f"no ZIP code {text}")
        reach = miles / MILES_PER_DEGREE_LATITUDE  # in degrees of latitude
        # a degree of longitude shrinks with latitude; near the poles, take every longitude
        cos_lat = math.cos(math.radians(min(89.0, abs(centre.latitude) + reach)))
        lon_reach = min(180.0, reach / cos_lat)
        rows = range(
            math.floor((centre.latitude - reach) / CELL),
            math.floor((centre.latitude + reach) / CELL) + 1,
        )
        first = math.floor((centre.longitude - lon_reach) / CELL)
        last = math.floor((centre.longitude + lon_reach) / CELL)
        columns = {_wrap(c) for c in range(first, last + 1)}
        lat1, lon1 = math.radians(centre.latitude), math.radians(centre.longitude)
        cos1 = math.cos(lat1)
        found: list[tuple[float, str]] = []
        for row in rows:
            for column in columns:
                for place in self._cells.get((row, column), ()):
                    if in_state and place.state != centre.state:
                        continue
                    lat2, lon2 = math.radians(place.latitude), math.radians(place.longitude)
                    h = (
                        math.sin((lat2 - lat1) / 2) ** 2
                        + cos1 * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
                    )
                    distance = 2 * EARTH_RADIUS_MILES * math.asin(min(1.0, math.sqrt(h)))
                    if distance <= miles:
                        found.append((distance, place.zip_code))
        found.sort()
        return [code for _, code in found]

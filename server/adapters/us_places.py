"""US states and ZIP codes from maintained packages, bundled, no network: `zipcodes` (every
ZIP code with its state, county and centre) and `addfips` (the states' and counties' FIPS
codes). Loading the ZIP codes takes about a second, so it is done once per process, when first
asked; the states alone are a small table, read when the server is built."""

from __future__ import annotations

import csv
import io
from importlib import resources

import addfips
import zipcodes

from server.domain.geo import Gazetteer, Place, State, States


def _states() -> list[State]:
    table = resources.files("addfips").joinpath("data/states.csv").read_text(encoding="utf-8")
    return [
        State(int(row["fips"]), row["name"], row["postal"])
        for row in csv.DictReader(io.StringIO(table))
    ]


def load_states() -> States:
    """The states alone: a small table, read in a millisecond."""
    return States(_states())


def load() -> Gazetteer:
    codes = addfips.AddFIPS()
    states = _states()
    fips_of: dict[tuple[str, str], str] = {}
    places = []
    for entry in zipcodes.list_all():
        state, county = str(entry["state"]), str(entry.get("county") or "")
        key = (state, county)
        if key not in fips_of:
            fips_of[key] = (codes.get_county_fips(county, state=state) or "") if county else ""
        try:
            latitude, longitude = float(entry["lat"]), float(entry["long"])
        except (KeyError, TypeError, ValueError):
            continue
        places.append(
            Place(str(entry["zip_code"]), state, county, fips_of[key], latitude, longitude)
        )
    return Gazetteer(states, places)

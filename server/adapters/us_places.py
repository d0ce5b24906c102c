"""US states and ZIP codes from maintained packages, bundled, no network: `zipcodes` (every
ZIP code with its state, county and centre) and `addfips` (the states' and counties' FIPS
codes). Loading takes about a second, so it is done once per process, when first asked."""

from __future__ import annotations

import csv
import io
from importlib import resources

import addfips
import zipcodes

from server.domain.geo import Gazetteer, Place, State


def load() -> Gazetteer:
    codes = addfips.AddFIPS()
    table = resources.files("addfips").joinpath("data/states.csv").read_text(encoding="utf-8")
    states = [
        State(int(row["fips"]), row["name"], row["postal"])
        for row in csv.DictReader(io.StringIO(table))
    ]
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

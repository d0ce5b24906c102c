"""The service.asmx contract: the WSDL equals the golden copy in tests/golden/ (so a change to
the contract is deliberate), and every operation it offers has its row in docs/soap.md.

After a deliberate change: LEADROUTER_UPDATE_GOLDEN=1 pytest tests/e2e/test_soap_contract.py
rewrites the golden copy; review its diff like code."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx

from gateways.soap import wsdl

ROOT = Path(__file__).parents[2]
GOLDEN = ROOT / "tests" / "golden" / "service.wsdl"
DOC = ROOT / "docs" / "soap.md"


async def _served(soap_url: str) -> str:
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"{soap_url}?WSDL")
    answer.raise_for_status()
    return answer.text.replace(soap_url, "http://localhost/service.asmx")


async def test_the_wsdl_is_the_golden_copy(soap_url: str) -> None:
    served = await _served(soap_url)
    if os.environ.get("LEADROUTER_UPDATE_GOLDEN"):
        GOLDEN.write_text(served)
    assert served == GOLDEN.read_text(), (
        "the WSDL changed: if on purpose, rerun with LEADROUTER_UPDATE_GOLDEN=1 and review"
    )


def _documented() -> set[str]:
    rows = re.findall(r"^\| (\w+) \| `", DOC.read_text(), flags=re.MULTILINE)
    return set(rows)


async def test_every_operation_has_its_row_in_docs_soap(soap_url: str) -> None:
    offered = set(wsdl.operations(await _served(soap_url)))
    assert offered, "no operations"
    assert offered - _documented() == set()

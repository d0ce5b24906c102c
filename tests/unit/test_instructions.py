"""Posting instructions: complete, honest about authentication, and examples that pass."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import replace
from typing import Any

from server.domain.catalog.fields import DataType, FieldSpec, SpecialField, clean_lead_values
from server.domain.catalog.instructions import (
    API_KEY_PLACEHOLDER,
    ENDPOINTS,
    ORDER_ID_PLACEHOLDER,
    PASSWORD_PLACEHOLDER,
    POST_ID_PLACEHOLDER,
    posting_instructions,
    to_markdown,
)
from server.domain.catalog.rules import Operator, Rule
from server.domain.catalog.specs import CampaignSpec, Channel, Pricing, PricingModel

FIELDS = (
    FieldSpec(
        "Email",
        required=True,
        special=SpecialField.Email,
        validation=r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$",
    ),
    FieldSpec(
        "Phone",
        required=True,
        special=SpecialField.PrimaryPhone,
        invalid_chars="[^0-9]",
        validation="^[0-9]{10}$",
    ),
    FieldSpec("Zip", required=True, special=SpecialField.Zip, validation="^[0-9]{5}$"),
    FieldSpec("Age", data_type=DataType.Int, required=True),
    FieldSpec("Credit", required=True, enumerations=("Good", "Fair")),
    FieldSpec("Notes", description="free text"),
)
CAMPAIGN = CampaignSpec(
    name="Web",
    pricing=Pricing(PricingModel.PerLead, amount=__import__("decimal").Decimal("12.50")),
    rules=(Rule("Age", Operator.GreaterOrEqual, "18"),),
)


def document(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "receiver_url": "https://leads.example.com/",
        "source_id": 7,
        "source_name": "Acme",
        "campaign_id": 3,
        "campaign": CAMPAIGN,
        "lead_type_id": 2,
        "lead_type_name": "Auto",
        "fields": FIELDS,
        "has_password": True,
    }
    values.update(overrides)
    return posting_instructions(**values)


def test_every_field_is_listed_with_its_checks() -> None:
    listed = {f["name"]: f for f in document()["fields"]}
    assert list(listed) == [f.name for f in FIELDS]
    assert listed["Zip"]["validation"] == "^[0-9]{5}$" and listed["Zip"]["required"]
    assert listed["Credit"]["allowed_values"] == ["Good", "Fair"]


def test_the_example_values_pass_the_fields_own_checks() -> None:
    examples = {f["name"]: f["example"] for f in document()["fields"]}
    assert clean_lead_values(FIELDS, examples).ok


def example(doc: dict[str, Any], form: str) -> str:
    return next(e["command"] for e in doc["examples"] if e["form"] == form)


def endpoint_names(doc: dict[str, Any]) -> list[str]:
    return [e["name"] for e in doc["endpoints"]]


def test_the_json_example_carries_the_identifiers_and_a_password_placeholder() -> None:
    example_ = example(document(), "json")
    body = json.loads(re.search(r"-d '(.+)'$", example_)[1])  # type: ignore[index]
    assert body["source"] == {"vid": 7, "lid": 2, "aid": 3, "password": PASSWORD_PLACEHOLDER}
    assert set(body["leads"][0]["fields"]) == {"Email", "Phone", "Zip", "Age", "Credit"}


def test_no_password_means_no_password_in_the_examples() -> None:
    made = document(has_password=False)
    assert PASSWORD_PLACEHOLDER not in json.dumps([made["examples"], made["endpoints"]])
    assert "no password is set" in made["authentication"]


def test_a_required_api_key_is_said_to_be_required_and_every_example_carries_it() -> None:
    made = document(campaign=replace(CAMPAIGN, require_api_key=True))
    assert made["authentication"].endswith("both are required")
    commands = [e["command"] for e in made["examples"]]
    commands += [e["example"] for e in made["endpoints"] if "status" not in e["name"]]
    header = f"-H 'Authorization: Bearer {API_KEY_PLACEHOLDER}'"
    assert all(header in c and PASSWORD_PLACEHOLDER in c for c in commands)


def test_the_key_example_leaves_out_vid_and_the_password_it_replaces() -> None:
    command = example(document(), "api_key")
    assert f"-H 'Authorization: Bearer {API_KEY_PLACEHOLDER}'" in command
    assert "vid=" not in command and PASSWORD_PLACEHOLDER not in command


def test_the_three_key_headers_are_named() -> None:
    made = document()
    assert made["api_key_headers"] == [
        f"Authorization: Bearer {API_KEY_PLACEHOLDER}",
        f"access_token: {API_KEY_PLACEHOLDER}",
        f"api-key: {API_KEY_PLACEHOLDER}",
    ]
    for header in ("Authorization: Bearer KEY", "access_token: KEY", "api-key: KEY"):
        assert header in made["authentication"]


def test_urls_use_the_receivers_public_address() -> None:
    [insert] = [e for e in document()["endpoints"] if e["name"] == "insert"]
    assert insert["url"] == "https://leads.example.com/processor/insert/general/{json|xml}"
    assert insert["methods"] == ["POST", "GET"]
    assert insert["example"].startswith(
        "curl -s https://leads.example.com/processor/insert/general/json -d 'vid=7&"
    )


def test_each_insert_is_listed_with_its_async_variant() -> None:
    made = document()
    [queued] = [e for e in made["endpoints"] if e["name"] == "insert_async"]
    assert queued["url"] == "https://leads.example.com/processor/insert/general/{json|xml}/async"
    assert queued["example"].startswith(
        "curl -s https://leads.example.com/processor/insert/general/json/async -d 'vid=7&"
    )
    assert "LeadQueueResponse" in queued["does"] and "returnurl" in queued["does"]
    [status] = [e for e in made["endpoints"] if e["name"] == "queue_status"]
    assert status["example"] == (
        "curl -s https://leads.example.com/information/queuestatus/" + POST_ID_PLACEHOLDER
    )


def test_a_ping_post_campaign_pings_without_contact_fields_then_posts_with_the_order() -> None:
    made = document(campaign=replace(CAMPAIGN, channel=Channel.PingPost))
    [ping] = [e for e in made["endpoints"] if e["name"] == "ping"]
    assert ping["url"] == "https://leads.example.com/processor/insert/ping/{json|xml}"
    pinged = shlex.split(ping["example"])[-1]
    assert "Zip=" in pinged and "orderid" not in pinged
    assert "Email=" not in pinged and "Phone=" not in pinged  # contact fields
    posts = [e["example"] for e in made["endpoints"] if e["name"].startswith("insert")]
    posts += [e["command"] for e in made["examples"]]
    assert all(ORDER_ID_PLACEHOLDER in command for command in posts)
    assert ORDER_ID_PLACEHOLDER in made["placeholders"]
    assert made["notes"] and "orderid" in made["notes"][0]
    plain = document()  # a post campaign: its posts name no order
    assert all(ORDER_ID_PLACEHOLDER not in e["example"] for e in plain["endpoints"])


def test_each_channel_lists_its_endpoints() -> None:
    def listed(channel: Channel) -> list[str]:
        return endpoint_names(document(campaign=replace(CAMPAIGN, channel=channel)))

    def inserts(*names: str) -> list[str]:
        return [variant for name in names for variant in (name, f"{name}_async")]

    common = ["update", "duplicate_check", "status", "queue_status"]
    assert listed(Channel.Post) == [*inserts("insert", "returnsends"), *common]
    assert listed(Channel.PingPost) == [*inserts("ping", "insert", "returnsends"), *common]
    assert listed(Channel.Redirect) == [*inserts("manualredirect", "autoredirect"), *common]
    assert listed(Channel.Call) == [*inserts("calldata", "transfer"), *common]
    # every endpoint is some channel's
    assert {e.name for e in ENDPOINTS} == {name for c in Channel for name in listed(c)}


def test_a_call_campaigns_examples_carry_the_call_details() -> None:
    made = document(campaign=replace(CAMPAIGN, channel=Channel.Call))
    assert "/processor/insert/calldata/json" in example(made, "urlencoded")
    assert "ivrnumber=8005550100&callduration=95" in example(made, "urlencoded")
    assert '"properties": {"ivrNumber": "8005550100", "callDuration": 95}' in example(made, "json")
    assert "<IVRNumber>8005550100</IVRNumber>" in example(made, "xml")


def test_the_update_example_names_a_lead_and_changes_a_field_the_duplicate_check_ignores() -> None:
    fields = tuple(replace(f, duplicate_check=f.name == "Email") for f in FIELDS)
    [update] = [e for e in document(fields=fields)["endpoints"] if e["name"] == "update"]
    assert update["example"].endswith(
        "-d 'vid=7&lid=2&password=YOUR_PASSWORD&lpleaduid=LEAD_ID&Phone=7025550100'"
    )


def test_the_duplicate_check_example_sends_the_duplicate_fields() -> None:
    fields = tuple(replace(f, duplicate_check=f.name in ("Email", "Notes")) for f in FIELDS)
    [check] = [e for e in document(fields=fields)["endpoints"] if e["name"] == "duplicate_check"]
    assert check["example"].endswith(
        "-d 'vid=7&lid=2&aid=3&password=YOUR_PASSWORD&Email=jane.doe%40example.com&Notes=example'"
    )


def test_a_value_with_a_quote_is_quoted_for_the_shell() -> None:
    import shlex

    quoted = replace(FIELDS[4], enumerations=("Dan's",))
    made = document(fields=(*FIELDS[:4], quoted))
    command = example(made, "json")
    body = json.loads(shlex.split(command)[-1])
    assert body["leads"][0]["fields"]["Credit"] == "Dan's"


def test_the_markdown_names_identifiers_fields_rules_and_examples() -> None:
    text = to_markdown(document())
    for expected in (
        "`vid` (lead source): 7",
        "`aid` (campaign): 3",
        "| Zip | Varchar | yes |",
        "Age GreaterOrEqual 18",
        "$12.50 per accepted lead",
        "### duplicate check",
        "`POST` or `GET` `https://leads.example.com/processor/update/{json|xml}`",
        "GET, every value in the query string:",
        "curl -s 'https://leads.example.com/processor/insert/general/json?vid=7&lid=2&aid=3&",
        "```sh",
    ):
        assert expected in text


def test_the_examples_meet_the_campaigns_rules() -> None:
    strict = replace(
        CAMPAIGN, rules=(Rule("Age", Operator.Less, "18"), Rule("Notes", Operator.In, "a,b"))
    )
    command = example(document(campaign=strict), "json")
    fields = json.loads(re.search(r"-d '(.+)'$", command)[1])["leads"][0]["fields"]  # type: ignore[index]
    assert int(fields["Age"]) < 18 and fields["Notes"] in ("a", "b")

"""The `leadrouter` command end to end: a real `serve` process, and the other commands run
against it (and its data folder) as subprocesses, as an operator would run them."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import psutil  # type: ignore[import-untyped]
import pytest
from leadrouter.v1 import (
    billing_pb2,
    callbacks_pb2,
    distribution_pb2,
    leads_pb2,
    leads_pb2_grpc,
    marketplace_pb2,
)

from clients.client import admin, billing, distribution, marketplace

pytestmark = pytest.mark.slow  # starts server processes

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "acme.json"
MIGRATIONS = ROOT / "server" / "storage" / "migrations"
SCRIPT = Path(sys.executable).parent / "leadrouter"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "clients.cli"]
ENV = {k: v for k, v in os.environ.items() if not k.startswith("LEADROUTER_")}
ENV["LEADROUTER_ALLOW_PRIVATE_DELIVERIES"] = "1"  # the tests' buyers listen on loopback
# `serve --demo` allows its demo buyer on loopback by itself, its extra processes too
NOT_ALLOWED = {"LEADROUTER_ALLOW_PRIVATE_DELIVERIES": "0"}

READY = re.compile(r"gRPC API listening on (\S+:\d+)")
RECEIVER_READY = re.compile(r"lead receiver listening on (http://\S+:\d+)")
START_TIMEOUT = 60
STOP_TIMEOUT = 20
# a well-formed key (lr_<8-char prefix>_<secret>) that no account has
UNKNOWN_KEY = "lr_aaaaaaaa_" + "A" * 43


def leadrouter(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *map(str, args)],
        cwd=ROOT,
        env=ENV,
        timeout=120,
        capture_output=True,
        text=True,
    )


def stderr_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """stderr without the platformdirs/XDG_RUNTIME_DIR noise of the embedded PostgreSQL."""
    return [
        line
        for line in result.stderr.splitlines()
        if line.strip() and "platformdirs" not in line and "XDG_RUNTIME_DIR" not in line
    ]


def succeeded(result: subprocess.CompletedProcess[str]) -> Any:
    """The JSON a successful command printed."""
    assert result.returncode == 0, (
        f"{result.args} exited {result.returncode}\nstdout:\n{result.stdout}\n"
        f"stderr:\n{result.stderr}"
    )
    return json.loads(result.stdout)


def failed(result: subprocess.CompletedProcess[str]) -> str:
    """The (filtered) stderr of a command that exited with status 1."""
    assert result.returncode == 1, (
        f"{result.args} exited {result.returncode}, expected 1\nstdout:\n{result.stdout}\n"
        f"stderr:\n{result.stderr}"
    )
    return "\n".join(stderr_lines(result))


# -- a running `leadrouter serve` -----------------------------------------------------------


class Serve:
    """A `leadrouter serve` subprocess whose combined output is read on a thread."""

    def __init__(self, data_dir: Path, *extra: str, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.process = subprocess.Popen(
            [
                *COMMAND,
                "serve",
                "--grpc",
                "127.0.0.1:0",
                "--receiver",
                "127.0.0.1:0",
                "--soap",
                "127.0.0.1:0",
                "--data-dir",
                str(data_dir),
                *extra,
            ],
            cwd=ROOT,
            env={**ENV, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def text(self) -> str:
        return "".join(self.output)

    def wait_ready(self) -> str:
        """The gRPC address, once the server says it listens."""
        return self.wait_line(READY)[1]

    def wait_line(self, pattern: re.Pattern[str]) -> re.Match[str]:
        """The first output line from now on that matches the pattern."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = self._lines.get(timeout=max(remaining, 0.01))
            except queue.Empty:
                self.kill()
                pytest.fail(f"serve did not report its address in {START_TIMEOUT}s:\n{self.text()}")
            if line is None:
                self.process.wait()
                pytest.fail(f"serve exited {self.process.returncode} before ready:\n{self.text()}")
            found = pattern.search(line)
            if found:
                return found

    def terminate(self) -> int | None:
        """SIGTERM, then the exit status, or None (and the process killed) if it hung on."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@dataclass(frozen=True)
class Server:
    address: str
    data_dir: Path
    receiver: str = ""  # http://HOST:PORT, where a test needs it


@pytest.fixture(scope="module")
def cli_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    serve = Serve(tmp_path_factory.mktemp("cli"))
    try:
        address = serve.wait_ready()
        receiver = serve.wait_line(RECEIVER_READY)[1]
        yield Server(address, serve.data_dir, receiver)
    finally:
        status = serve.terminate()
    assert status == 0, f"serve exited {status} on SIGTERM:\n{serve.text()}"


@pytest.fixture
def cli_account(cli_server: Server) -> dict[str, Any]:
    """A fresh account (id and first admin key), made by `accounts create`."""
    return succeeded(leadrouter("accounts", "create", "Tenant", "--data-dir", cli_server.data_dir))


def apply(
    server: Server, document: Path, key: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    return leadrouter("apply", document, "--grpc", server.address, "--key", key, *extra)


def violations(errors: str) -> dict[str, str]:
    """The `  path: reason` lines under a rejection's first line, by path."""
    found: dict[str, str] = {}
    for line in errors.splitlines():
        if line.startswith("  "):
            path, _, reason = line.strip().partition(": ")
            found[path] = reason
    return found


def write_json(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document))
    return path


# -- serve and shutdown --------------------------------------------------------------------


def test_serve_exits_0_on_sigterm(tmp_path_factory: pytest.TempPathFactory) -> None:
    serve = Serve(tmp_path_factory.mktemp("stop"))
    try:
        serve.wait_ready()
    finally:
        status = serve.terminate()
    assert status == 0, f"serve exited {status} on SIGTERM:\n{serve.text()}"


def _postmaster(data_dir: Path) -> Any:
    """The embedded PostgreSQL serving a data folder, from its pid file."""
    pid = int((data_dir / "pg" / "postmaster.pid").read_text().split()[0])
    return psutil.Process(pid)


def test_a_killed_serve_restarted_stops_the_embedded_postgresql_on_its_clean_exit(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """kill -9 leaves the killed process on pgserver's list of the server's users; the next
    start drops it, so the next clean exit is the last user's and stops the server."""
    data_dir = tmp_path_factory.mktemp("killed")
    killed = Serve(data_dir)
    try:
        killed.wait_ready()
        postmaster = _postmaster(data_dir)
    finally:
        killed.kill()
    assert postmaster.is_running()  # a killed user cannot stop it
    listed = json.loads((data_dir / "pg" / ".handle_pids.json").read_text())
    assert killed.process.pid in listed
    restarted = Serve(data_dir)
    try:
        restarted.wait_ready()
        assert _postmaster(data_dir).pid == postmaster.pid  # the same server, reused
    finally:
        status = restarted.terminate()
    assert status == 0, restarted.text()
    postmaster.wait(timeout=STOP_TIMEOUT)
    assert not postmaster.is_running()


# -- accounts and keys -----------------------------------------------------------------------


def test_accounts_create_while_serving_shares_the_running_database(cli_server: Server) -> None:
    created = succeeded(
        leadrouter("accounts", "create", "Shared", "--data-dir", cli_server.data_dir)
    )

    assert set(created) == {"account_id", "api_key"}
    assert type(created["account_id"]) is int
    assert created["api_key"].startswith("lr_")
    # the server sees the key the other process stored, and still has its database after
    # that process exited
    succeeded(apply(cli_server, EXAMPLE, created["api_key"], "--dry-run"))


def test_a_revoked_key_is_listed_without_its_secret_and_no_longer_authenticates(
    cli_server: Server, cli_account: dict[str, Any]
) -> None:
    account = str(cli_account["account_id"])
    data_dir = cli_server.data_dir
    key = succeeded(
        leadrouter("keys", "create", "--account", account, "--name", "ci", "--data-dir", data_dir)
    )
    assert key["api_key"].startswith(f"lr_{key['prefix']}_")
    succeeded(apply(cli_server, EXAMPLE, key["api_key"], "--dry-run"))

    listing = leadrouter("keys", "list", "--account", account, "--data-dir", data_dir)
    listed = {k["id"]: k for k in succeeded(listing)}
    assert listed[key["id"]]["prefix"] == key["prefix"]
    assert listed[key["id"]]["name"] == "ci"
    assert listed[key["id"]]["revoked_at"] is None
    assert key["api_key"] not in listing.stdout + listing.stderr
    assert cli_account["api_key"] not in listing.stdout + listing.stderr

    revoked = leadrouter(
        "keys", "revoke", "--account", account, str(key["id"]), "--data-dir", data_dir
    )
    assert succeeded(revoked) == {"revoked": key["id"]}
    relisted = {
        k["id"]: k
        for k in succeeded(leadrouter("keys", "list", "--account", account, "--data-dir", data_dir))
    }
    assert relisted[key["id"]]["revoked_at"] is not None

    assert "UNAUTHENTICATED" in failed(apply(cli_server, EXAMPLE, key["api_key"]))
    # the account's other key still works
    succeeded(apply(cli_server, EXAMPLE, cli_account["api_key"], "--dry-run"))


# -- source keys -------------------------------------------------------------------------------

SECRET_LINE = re.compile(r"^  (lr_\S+)$", re.MULTILINE)
LEAD_FORM = "FirstName=Sam&LastName=Key&Phone=7025550142&Zip=89101&Age=40"


def post_with_key(server: Server, ids: dict[str, Any], header: str, value: str, n: int) -> Any:
    """A lead posted with the source's key in `header` and no vid or password."""
    form = (
        f"lid={ids['lead_types']['auto-insurance']}&aid={ids['campaigns']['acme-auto-web']}"
        f"&Email=key{n}%40example.com&{LEAD_FORM.replace('0142', f'01{n:02d}')}"
    )
    request = urllib.request.Request(
        f"{server.receiver}/processor/insert/general/json",
        data=form.encode(),
        headers={header: value},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


def source_keys(server: Server, account: dict[str, Any], *args: str) -> Any:
    return leadrouter(
        "source-keys",
        *args[:1],
        "--account",
        str(account["account_id"]),
        *args[1:],
        "--data-dir",
        server.data_dir,
    )


def test_source_keys_create_prints_the_key_once_and_how_to_post_with_it(
    cli_server: Server, cli_account: dict[str, Any]
) -> None:
    ids = succeeded(apply(cli_server, EXAMPLE, cli_account["api_key"]))
    made = source_keys(
        cli_server, cli_account, "create", "acme-media", "--name", "web",
        "--receiver-url", cli_server.receiver,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    [secret] = SECRET_LINE.findall(made.stdout)
    vid, aid = ids["sources"]["acme-media"], ids["campaigns"]["acme-auto-web"]
    printed = made.stdout
    assert f"of lead source {vid} (Acme Media, key acme-media), account" in printed
    for header in ("Authorization: Bearer", "access_token:", "api-key:"):
        assert f"  {header} {secret}\n" in printed
    assert f"lid {ids['lead_types']['auto-insurance']}, aid {aid}; the key replaces" in printed
    assert "acme-auto-rev" in printed  # every campaign of the source
    instructions = re.search(
        rf"  ({re.escape(cli_server.receiver)}/processor/instructions\S+)", printed
    )
    assert instructions is not None, printed
    with urllib.request.urlopen(instructions[1], timeout=60) as page:
        assert "Posting instructions: Acme Auto Web" in page.read().decode()

    answers = [
        post_with_key(cli_server, ids, "authorization", f"Bearer {secret}", 1),
        post_with_key(cli_server, ids, "access_token", secret, 2),
        post_with_key(cli_server, ids, "api-key", secret, 3),
    ]
    assert [a["ResponseType"] for a in answers] == ["No_Error"] * 3


def test_source_keys_list_shows_no_secret_and_revoke_stops_the_key(
    cli_server: Server, cli_account: dict[str, Any]
) -> None:
    ids = succeeded(apply(cli_server, EXAMPLE, cli_account["api_key"]))
    vid = str(ids["sources"]["acme-media"])
    made = succeeded(source_keys(cli_server, cli_account, "create", vid, "--json"))
    secret = made["api_key"]
    assert made["source_id"] == int(vid) and secret.startswith(f"lr_{made['prefix']}_")
    assert post_with_key(cli_server, ids, "api-key", secret, 11)["ResponseType"] == "No_Error"

    listing = source_keys(cli_server, cli_account, "list", "acme-media")
    assert listing.returncode == 0, listing.stderr
    assert f"  {made['id']}: lr_{made['prefix']}_..., created " in listing.stdout
    assert ", live" in listing.stdout
    as_json = succeeded(source_keys(cli_server, cli_account, "list", vid, "--json"))
    assert [k["id"] for k in as_json["keys"]] == [made["id"]]
    assert secret not in listing.stdout + listing.stderr + json.dumps(as_json)

    revoked = source_keys(cli_server, cli_account, "revoke", "acme-media", str(made["id"]))
    assert revoked.returncode == 0, revoked.stderr
    assert f"Revoked posting key {made['id']} of lead source {vid}" in revoked.stdout
    relisted = succeeded(source_keys(cli_server, cli_account, "list", vid, "--json"))
    assert relisted["keys"][0]["revoked_at"] is not None
    refused = post_with_key(cli_server, ids, "api-key", secret, 12)
    assert refused["ResponseType"] == "No_Account_Found"
    again = failed(source_keys(cli_server, cli_account, "revoke", vid, str(made["id"])))
    account = cli_account["account_id"]
    assert again == f"leadrouter: account {account}: lead source {vid} has no live key {made['id']}"


def test_source_keys_name_an_unknown_or_another_accounts_source_clearly(
    cli_server: Server, cli_account: dict[str, Any]
) -> None:
    other = succeeded(leadrouter("accounts", "create", "Other", "--data-dir", cli_server.data_dir))
    theirs = succeeded(apply(cli_server, EXAMPLE, other["api_key"]))["sources"]["acme-media"]
    account = cli_account["account_id"]
    for args, expected in [
        (("create", "no-such-source"), "no lead source with key 'no-such-source'"),
        (("create", str(theirs)), f"no lead source with id or key '{theirs}'"),
        (("list", str(theirs)), f"no lead source with id or key '{theirs}'"),
        (("revoke", str(theirs), "1"), f"no lead source with id or key '{theirs}'"),
    ]:
        errors = failed(source_keys(cli_server, cli_account, *args))
        assert errors == f"leadrouter: account {account}: {expected}"
        assert "Traceback" not in errors


# -- signing secrets ---------------------------------------------------------------------------


def test_signing_secrets_are_made_and_rotated_by_the_command(
    cli_server: Server, cli_account: dict[str, Any]
) -> None:
    source = succeeded(apply(cli_server, EXAMPLE, cli_account["api_key"]))["sources"]["acme-media"]
    where = ["--account", str(cli_account["account_id"]), "--source", str(source)]
    data_dir = ["--data-dir", cli_server.data_dir]

    made = succeeded(leadrouter("signing-secrets", "create", *where, *data_dir))
    assert made["source_id"] == source
    assert made["signing_secret"].startswith("lrsig_")
    again = failed(leadrouter("signing-secrets", "create", *where, *data_dir))
    assert "has a signing secret already; rotate it" in again
    rotated = succeeded(leadrouter("signing-secrets", "rotate", *where, *data_dir))
    assert rotated["signing_secret"].startswith("lrsig_")
    assert rotated["signing_secret"] != made["signing_secret"]
    elsewhere = ["--account", str(cli_account["account_id"]), "--source", "999999999"]
    assert "no lead source 999999999" in failed(
        leadrouter("signing-secrets", "rotate", *elsewhere, *data_dir)
    )


# -- apply -------------------------------------------------------------------------------------


def test_applying_the_example_twice_gives_the_same_ids_and_changes_nothing(
    cli_server: Server, cli_account: dict[str, Any]
) -> None:
    first = apply(cli_server, EXAMPLE, cli_account["api_key"])
    result = succeeded(first)
    assert set(result) == {
        "lead_types",
        "sources",
        "campaigns",
        "clients",
        "deliveries",
        "accounts",
        "orders",
        "distribution_lists",
    }
    assert set(result["lead_types"]) == {"auto-insurance"}
    assert set(result["sources"]) == {"acme-media"}
    assert set(result["campaigns"]) == {"acme-auto-web", "acme-auto-rev"}
    ids = [i for group in result.values() for i in group.values()]
    assert all(type(i) is int and i > 0 for i in ids)
    assert any(line.startswith("created") for line in stderr_lines(first))

    second = apply(cli_server, EXAMPLE, cli_account["api_key"])
    assert succeeded(second) == result
    changed = [line for line in stderr_lines(second) if line.startswith(("created", "updated"))]
    assert changed == []


def test_an_invalid_document_lists_every_error_and_changes_nothing(
    cli_server: Server, cli_account: dict[str, Any], tmp_path: Path
) -> None:
    bad = write_json(
        tmp_path / "bad.json",
        {
            "lead_types": [
                {
                    "key": "should-not-exist",
                    "name": "Valid On Its Own",
                    "fields": [{"name": "Email", "type": "Varchar"}],
                },
                {"key": "broken", "name": "Broken", "fields": [{"name": "Odd", "type": "Nope"}]},
            ],
            "sources": [
                {
                    "key": "bad-source",
                    "name": "Bad Source",
                    "campaigns": [
                        {
                            "key": "bad-campaign",
                            "name": "Bad Campaign",
                            "lead_type": "no-such-type",
                            "day_max": -4,
                        }
                    ],
                },
            ],
        },
    )

    errors = failed(apply(cli_server, bad, cli_account["api_key"]))

    assert "INVALID_ARGUMENT" in errors
    reported = violations(errors)
    assert set(reported) == {
        "lead_types[1].fields[0].type",
        "sources[0].campaigns[0].day_max",
        "sources[0].campaigns[0].lead_type",
    }, errors
    assert reported["lead_types[1].fields[0].type"].startswith("'Nope' is not one of")
    assert reported["sources[0].campaigns[0].lead_type"] == "no lead type with key 'no-such-type'"

    # the document's valid lead type was not created either
    probe = write_json(
        tmp_path / "probe.json",
        {
            "sources": [
                {
                    "key": "probe-source",
                    "name": "Probe",
                    "campaigns": [
                        {"key": "probe", "name": "Probe", "lead_type": "should-not-exist"}
                    ],
                },
            ],
        },
    )
    probed = failed(apply(cli_server, probe, cli_account["api_key"], "--dry-run"))
    assert violations(probed) == {
        "sources[0].campaigns[0].lead_type": "no lead type with key 'should-not-exist'"
    }


def test_applying_the_same_document_prints_the_same_text(
    cli_server: Server, cli_account: dict[str, Any], tmp_path: Path
) -> None:
    # with eight campaigns a random order almost never repeats, so the check is reliable
    document = write_json(
        tmp_path / "many.json",
        {
            "lead_types": [{"key": "many", "name": "Many", "fields": [{"name": "Email"}]}],
            "sources": [
                {
                    "key": "many-source",
                    "name": "Many",
                    "campaigns": [
                        {"key": f"many-{i}", "name": f"Many {i}", "lead_type": "many"}
                        for i in range(8)
                    ],
                }
            ],
        },
    )
    outputs = [succeeded(apply(cli_server, document, cli_account["api_key"])) for _ in range(3)]
    assert outputs[0] == outputs[1] == outputs[2]
    texts = [apply(cli_server, document, cli_account["api_key"]).stdout for _ in range(3)]
    assert texts[0] == texts[1] == texts[2]


YAML_DOCUMENT = """\
# the same config as code, in YAML
lead_types:
  - key: home-insurance
    name: Home Insurance
    duplicate_fields: [Email]
    fields:
      - {name: Email, type: Varchar, required: true, special: Email}
      - name: Zip
        type: Varchar
        validation: "^[0-9]{5}$"
sources:
  - key: yaml-media
    name: YAML Media
    campaigns:
      - key: yaml-home
        name: YAML Home
        lead_type: home-insurance
        price_per_lead: "7.25"
        day_max: 10
        rules:
          - {field: Zip, operator: Equal, value: "89101"}
"""


def test_a_yaml_document_applies(
    cli_server: Server, cli_account: dict[str, Any], tmp_path: Path
) -> None:
    document = tmp_path / "config.yaml"
    document.write_text(YAML_DOCUMENT)

    result = succeeded(apply(cli_server, document, cli_account["api_key"]))

    assert set(result["lead_types"]) == {"home-insurance"}
    assert set(result["sources"]) == {"yaml-media"}
    assert set(result["campaigns"]) == {"yaml-home"}


@pytest.mark.parametrize("key", [UNKNOWN_KEY, "not-a-key"], ids=["unknown", "malformed"])
def test_apply_with_a_wrong_key_is_unauthenticated(cli_server: Server, key: str) -> None:
    assert "UNAUTHENTICATED" in failed(apply(cli_server, EXAMPLE, key))


# -- help and migrate ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["migrate"],
        ["accounts", "create"],
        ["accounts", "list"],
        ["keys", "create"],
        ["keys", "list"],
        ["keys", "revoke"],
        ["source-keys", "create"],
        ["source-keys", "list"],
        ["source-keys", "revoke"],
        ["signing-secrets", "create"],
        ["signing-secrets", "rotate"],
        ["apply"],
        ["instructions"],
        ["offers"],
        ["lead"],
        ["posts"],
        ["post"],
        ["report"],
    ],
    ids=lambda command: " ".join(command) or "leadrouter",
)
def test_help(command: list[str]) -> None:
    result = leadrouter(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: leadrouter")


def test_migrate_applies_each_migration_once(tmp_path_factory: pytest.TempPathFactory) -> None:
    data_dir = tmp_path_factory.mktemp("mig")
    expected = sorted(p.stem for p in MIGRATIONS.glob("[0-9][0-9][0-9][0-9]_*.sql"))
    assert expected[0] == "0001_foundation"

    assert succeeded(leadrouter("migrate", "--data-dir", data_dir)) == {"applied": expected}
    assert succeeded(leadrouter("migrate", "--data-dir", data_dir)) == {"applied": []}


CURL_LINE = re.compile(r"curl -s (\S+) -d '([^']+)'")


def post_form(url: str, data: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, data=data.encode(), timeout=60) as answer:
        return dict(json.loads(answer.read()))


EXPORT_LINE = re.compile(r"export LEADROUTER_KEY=(\S+) LEADROUTER_GRPC=(\S+)")
LEAD_LINE = re.compile(r"^  \.venv/bin/leadrouter (lead) LEAD_ID$")


def shown_sold(lead_id: int, env: dict[str, str], seconds: float = 30.0) -> str:
    """`leadrouter lead LEAD_ID`'s output once it shows a sale (the sale may be a moment
    behind the answer)."""
    deadline = time.monotonic() + seconds
    while True:
        shown = subprocess.run(
            [*COMMAND, "lead", str(lead_id)],
            cwd=ROOT,
            env={**ENV, **env},
            timeout=120,
            capture_output=True,
            text=True,
        )
        assert shown.returncode == 0, shown.stderr
        if ": sold at " in shown.stdout or time.monotonic() > deadline:
            return shown.stdout
        time.sleep(0.2)


def test_the_demo_prints_a_lead_that_is_sold_to_the_demo_buyer(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    serve = Serve(tmp_path_factory.mktemp("demo"), "--demo", env=NOT_ALLOWED)
    try:
        line = serve.wait_line(CURL_LINE)
        first = post_form(line[1], line[2])
        again = post_form(line[1], line[2])
        exported = serve.wait_line(EXPORT_LINE)
        serve.wait_line(LEAD_LINE)
        env = {"LEADROUTER_KEY": exported[1], "LEADROUTER_GRPC": exported[2]}
        shown = shown_sold(first["LeadIdentifier"], env)
        soap_line = serve.wait_line(SOAP_LINE)
        with urllib.request.urlopen(soap_line[1], timeout=60) as answer:
            lead_types = answer.read().decode()
        with admin(exported[2], exported[1]) as stub:
            settings = stub.GetAccountSettings(callbacks_pb2.GetAccountSettingsRequest())
    finally:
        status = serve.terminate()
    assert (first["ResponseType"], first["isValidPost"]) == ("No_Error", True)
    assert again["ResponseType"] == "Duplicate_Lead"
    assert shown.startswith(f"Lead {first['LeadIdentifier']}\n"), shown
    assert re.search(r"\n  #\d+ Demo Buyer account \d+: sold at 25, 1 attempt\(s\)\n", shown), shown
    assert re.search(r"Send \d+ to Demo Buyer / nevada \(account \d+\): sold at 25", shown), shown
    assert "<ArrayOfLeadTypeType" in lead_types and "Auto Insurance" in lead_types
    assert settings.allow_private_callbacks  # a callback receiver on the same machine works
    assert status == 0, serve.text()


def test_the_demo_starts_on_a_server_that_allows_no_private_callbacks(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    never = {"LEADROUTER_PRIVATE_CALLBACKS": "never"}
    serve = Serve(tmp_path_factory.mktemp("demo-never"), "--demo", env=never)
    try:
        exported = serve.wait_line(EXPORT_LINE)
        with admin(exported[2], exported[1]) as stub:
            settings = stub.GetAccountSettings(callbacks_pb2.GetAccountSettingsRequest())
            allow = callbacks_pb2.AccountSettings(allow_private_callbacks=True)
            with pytest.raises(grpc.RpcError) as refused:
                stub.UpdateAccountSettings(
                    callbacks_pb2.UpdateAccountSettingsRequest(settings=allow)
                )
    finally:
        status = serve.terminate()
    assert not settings.allow_private_callbacks
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "LEADROUTER_PRIVATE_CALLBACKS=never" in (refused.value.details() or "")
    assert status == 0, serve.text()


def test_the_demo_restarted_keeps_its_buyers_address(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    data_dir = tmp_path_factory.mktemp("demo-again")
    addresses = []
    for _ in range(2):
        serve = Serve(data_dir, "--demo")
        try:
            addresses.append(serve.wait_line(re.compile(r"takes leads at (http://\S+)"))[1])
            serve.wait_line(EXPORT_LINE)
        finally:
            status = serve.terminate()
        assert status == 0, serve.text()
    assert addresses[0] == addresses[1]  # the same port, so the same delivery address


SOAP_LINE = re.compile(r"curl -s '(\S+/service\.asmx/GetLeadTypes\S+)'")
SOAP_READY = re.compile(r"service.asmx \(SOAP\) listening on (http://\S+)")


def test_service_asmx_served_alone_calls_a_separate_grpc_server(
    cli_server: Server, tmp_path_factory: pytest.TempPathFactory
) -> None:
    created = succeeded(leadrouter("accounts", "create", "Soap", "--data-dir", cli_server.data_dir))
    succeeded(apply(cli_server, EXAMPLE, created["api_key"]))
    alone = Serve(
        tmp_path_factory.mktemp("soap"), "--only", "soap", "--grpc-target", cli_server.address
    )
    try:
        url = alone.wait_line(SOAP_READY)[1]
        query = f"Key={created['api_key']}&LeadTypeUID=0"
        with urllib.request.urlopen(f"{url}/GetLeadTypes?{query}", timeout=60) as answer:
            lead_types = answer.read().decode()
    finally:
        status = alone.terminate()
    assert "Auto Insurance" in lead_types
    assert "gRPC API listening" not in alone.text()
    assert "lead receiver listening" not in alone.text()
    assert not (alone.data_dir / "pg").exists()
    assert status == 0, alone.text()


def test_a_receiver_served_alone_posts_through_a_separate_grpc_server(
    cli_server: Server, tmp_path_factory: pytest.TempPathFactory
) -> None:
    created = succeeded(
        leadrouter("accounts", "create", "Scaled", "--data-dir", cli_server.data_dir)
    )
    ids = succeeded(apply(cli_server, EXAMPLE, created["api_key"]))
    alone = Serve(
        tmp_path_factory.mktemp("alone"), "--only", "receiver", "--grpc-target", cli_server.address
    )
    try:
        url = alone.wait_line(RECEIVER_READY)[1]
        lead = (
            f"vid={ids['sources']['acme-media']}&lid={ids['lead_types']['auto-insurance']}"
            f"&aid={ids['campaigns']['acme-auto-web']}&password=acme-secret&FirstName=Al"
            "&LastName=Ng&Email=al%40example.com&Phone=7025550111&Zip=89101&Age=40"
        )
        answer = post_form(f"{url}/processor/insert/general/json", lead)
    finally:
        status = alone.terminate()
    assert answer["ResponseType"] == "No_Error"
    assert "gRPC API listening" not in alone.text()
    assert not (alone.data_dir / "pg").exists()
    assert status == 0, alone.text()


def _listening_ports(pid: int) -> set[int]:
    return {
        c.laddr.port
        for c in psutil.Process(pid).net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN
    }


def _serves_soap_alone(command: list[str]) -> bool:
    return "--only" in command and command[command.index("--only") + 1] == "soap"


def _workers_of(pid: int) -> list[Any]:
    """The processes serving the same doors as `pid` (not its service.asmx process)."""
    return [
        c
        for c in psutil.Process(pid).children()
        if "--worker" in c.cmdline() and not _serves_soap_alone(c.cmdline())
    ]


def _soap_of(pid: int) -> list[Any]:
    return [c for c in psutil.Process(pid).children() if _serves_soap_alone(c.cmdline())]


def test_several_processes_serve_the_same_ports_and_stop_together(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    serve = Serve(
        tmp_path_factory.mktemp("processes"), "--demo", "--processes", "3", env=NOT_ALLOWED
    )
    try:
        line = serve.wait_line(CURL_LINE)
        exported = serve.wait_line(EXPORT_LINE)
        grpc_port = int(re.search(r":(\d+)$", exported[2])[1])  # type: ignore[index]
        receiver_port = int(re.search(r":(\d+)/", line[1])[1])  # type: ignore[index]
        workers = _workers_of(serve.process.pid)
        assert len(workers) == 2, serve.text()
        soap_process = _soap_of(serve.process.pid)
        assert len(soap_process) == 1, serve.text()  # one, beside them all
        for pid in (serve.process.pid, *(w.pid for w in workers)):
            assert {grpc_port, receiver_port} <= _listening_ports(pid)
        answers = [post_form(line[1], line[2].replace("ann%40", f"ann{n}%40")) for n in range(12)]
        assert {a["ResponseType"] for a in answers} == {"No_Error"}
        # whichever process took it, each lead is sold to the demo buyer on loopback
        sold = _sold(exported[2], exported[1], [int(a["LeadIdentifier"]) for a in answers])
        assert sold == len(answers), serve.text()
    finally:
        status = serve.terminate()
    assert status == 0, serve.text()
    assert "3 processes share these ports" in serve.text()
    for worker in [*workers, *soap_process]:
        assert not worker.is_running() or worker.status() == psutil.STATUS_ZOMBIE


def _sold(address: str, key: str, lead_ids: list[int], seconds: float = 30.0) -> int:
    """How many of the leads have a sold send, once all have or `seconds` have passed."""
    deadline = time.monotonic() + seconds
    with distribution(address, key) as stub:
        while True:
            sold = sum(
                any(
                    s.status == distribution_pb2.SEND_STATUS_SOLD
                    for s in stub.ListSends(
                        distribution_pb2.ListSendsRequest(lead_id=lead_id), timeout=30
                    ).sends
                )
                for lead_id in lead_ids
            )
            if sold == len(lead_ids) or time.monotonic() > deadline:
                return sold
            time.sleep(0.2)


def test_a_worker_stops_when_the_process_that_started_it_dies(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    serve = Serve(tmp_path_factory.mktemp("orphan"), "--processes", "2")
    try:
        serve.wait_ready()
        [worker] = _workers_of(serve.process.pid)
        [soap_process] = _soap_of(serve.process.pid)
    finally:
        serve.kill()  # SIGKILL: no chance to stop its workers
    for process in (worker, soap_process):
        process.wait(timeout=STOP_TIMEOUT)
        assert not process.is_running()


def test_processes_must_be_at_least_one(tmp_path: Path) -> None:
    result = leadrouter("serve", "--processes", "0", "--data-dir", tmp_path)
    assert result.returncode != 0
    assert "--processes must be at least 1" in result.stderr


def test_instructions_print_markdown_and_json(cli_server: Server, cli_account: Any) -> None:
    succeeded(apply(cli_server, EXAMPLE, cli_account["api_key"]))
    common = ["--grpc", cli_server.address, "--key", cli_account["api_key"]]
    markdown = leadrouter("instructions", "acme-auto-web", *common)
    assert markdown.returncode == 0, markdown.stderr
    assert markdown.stdout.startswith("# Posting instructions: Acme Auto Web")
    document = succeeded(leadrouter("instructions", "acme-auto-web", "--json", *common))
    assert [f["name"] for f in document["fields"]][:2] == ["FirstName", "LastName"]
    assert type(document["identifiers"]["aid"]) is int  # 12, not 12.0: posted as it is
    assert [e["name"] for e in document["endpoints"]][:3] == [
        "insert",
        "insert_async",
        "returnsends",
    ]
    missing = leadrouter("instructions", "no-such-campaign", *common)
    assert missing.returncode == 1 and "NOT_FOUND" in missing.stderr


def test_a_day_cap_holds_across_two_server_processes(
    cli_server: Server, cli_account: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Two `serve` processes on one database: 50 posts at once to a day cap of 5 take 5."""
    from concurrent.futures import ThreadPoolExecutor

    ids = succeeded(apply(cli_server, EXAMPLE, cli_account["api_key"]))
    second = Serve(cli_server.data_dir)  # shares the first server's embedded PostgreSQL
    first = Serve(
        tmp_path_factory.mktemp("front"), "--only", "receiver", "--grpc-target", cli_server.address
    )
    try:
        second.wait_ready()
        urls = [
            f"{serve.wait_line(RECEIVER_READY)[1]}/processor/insert/general/json"
            for serve in (first, second)
        ]
        forms = [
            f"vid={ids['sources']['acme-media']}&lid={ids['lead_types']['auto-insurance']}"
            f"&aid={ids['campaigns']['acme-auto-rev']}&password=acme-secret-2&FirstName=C"
            f"&LastName=D&Email=c{i}%40example.com&Phone=70255{i:05d}&Zip=89101&Age=40"
            for i in range(50)
        ]
        with ThreadPoolExecutor(max_workers=50) as pool:
            answers = list(pool.map(lambda i: post_form(urls[i % 2], forms[i]), range(50)))
    finally:
        statuses = [first.terminate(), second.terminate()]
    counts: dict[str, int] = {}
    for answer in answers:
        counts[answer["ResponseType"]] = counts.get(answer["ResponseType"], 0) + 1
    assert counts == {"No_Error": 5, "Post_Over_Max": 45}
    assert statuses == [0, 0]


def test_lead_shows_where_a_lead_went_and_why(
    cli_server: Server, cli_account: dict[str, Any], tmp_path: Path
) -> None:
    document = json.loads(EXAMPLE.read_text())
    document["clients"] = [
        {
            "key": "west",
            "name": "West Coast Auto",
            "deliveries": [
                {
                    "key": "post",
                    "type": "http_post",
                    "lead_type": "auto-insurance",
                    "address": "http://127.0.0.1:9/buy",
                }
            ],
            "accounts": [
                {
                    "key": "ca",
                    "delivery": "post",
                    "price": "30",
                    "criteria": [{"field": "State", "operator": "Equal", "value": "CA"}],
                }
            ],
        }
    ]
    ids = succeeded(
        apply(cli_server, write_json(tmp_path / "doc.json", document), cli_account["api_key"])
    )
    assert list(ids["clients"]) == ["west"]
    request = leads_pb2.SubmitLeadsRequest(
        credentials=leads_pb2.Credentials(
            vid=str(ids["sources"]["acme-media"]),
            lid=str(ids["lead_types"]["auto-insurance"]),
            aid=str(ids["campaigns"]["acme-auto-web"]),
            password="acme-secret",
        ),
        leads=[
            leads_pb2.LeadInput(
                fields=[
                    leads_pb2.FieldValue(name=k, value=v)
                    for k, v in {
                        "FirstName": "Ann",
                        "LastName": "Lee",
                        "Email": "cli@example.com",
                        "Phone": "7025550199",
                        "Zip": "89101",
                        "Age": "40",
                    }.items()
                ]
            )
        ],
        wait_for_sends=True,
    )
    with grpc.insecure_channel(cli_server.address) as channel:
        result = leads_pb2_grpc.LeadServiceStub(channel).SubmitLeads(request).results[0]
    assert result.lead_id
    shown = leadrouter(
        "lead", str(result.lead_id), "--grpc", cli_server.address, "--key", cli_account["api_key"]
    )
    assert shown.returncode == 0, shown.stderr
    assert "West Coast Auto / ca" in shown.stdout
    assert "criteria failed: State=NV" in shown.stdout and "No sends." in shown.stdout
    as_json = succeeded(
        leadrouter(
            "lead",
            str(result.lead_id),
            "--json",
            "--grpc",
            cli_server.address,
            "--key",
            cli_account["api_key"],
        )
    )
    assert as_json["sends"] == [] and len(as_json["scan_log"]) == 1


def test_posts_and_post_show_the_post_log_with_the_password_removed(
    cli_server: Server, cli_account: dict[str, Any]
) -> None:
    ids = succeeded(apply(cli_server, EXAMPLE, cli_account["api_key"]))
    form = {
        "vid": str(ids["sources"]["acme-media"]),
        "lid": str(ids["lead_types"]["auto-insurance"]),
        "aid": str(ids["campaigns"]["acme-auto-web"]),
        "password": "acme-secret",
    }
    request = leads_pb2.SubmitLeadsRequest(
        credentials=leads_pb2.Credentials(**form),
        leads=[leads_pb2.LeadInput(fields=[leads_pb2.FieldValue(name="Zip", value="no")])],
        request_format="urlencoded",
        raw_request="&".join(f"{k}={v}" for k, v in {**form, "Zip": "no"}.items()).encode(),
    )
    with grpc.insecure_channel(cli_server.address) as channel:
        result = leads_pb2_grpc.LeadServiceStub(channel).SubmitLeads(request).results[0]
    server = ["--grpc", cli_server.address, "--key", cli_account["api_key"]]
    listed = leadrouter("posts", "--outcome", "refused", *server)
    assert listed.returncode == 0, listed.stderr
    line = listed.stdout.splitlines()[0]  # the newest
    assert result.post_id in line and "no lead, DATA_ERRORS" in line, line
    shown = leadrouter("post", result.post_id, *server)
    assert shown.returncode == 0, shown.stderr
    assert f"Post {result.post_id} at " in shown.stdout and ": refused" in shown.stdout
    assert "password=REMOVED&Zip=no" in shown.stdout and "acme-secret" not in shown.stdout
    as_json = succeeded(leadrouter("post", result.post_id, "--json", *server))
    assert as_json["postId"] == result.post_id and as_json["responseType"] == "DATA_ERRORS"
    unknown = leadrouter("post", "00000000-0000-0000-0000-000000000001", *server)
    assert "no post" in failed(unknown)


def test_offers_and_lead_show_the_offers_and_a_leads_consent(
    cli_server: Server, cli_account: dict[str, Any], tmp_path: Path
) -> None:
    document = json.loads(EXAMPLE.read_text())
    document["sources"][0]["campaigns"][0]["return_client_offers"] = True
    document["clients"] = [
        {
            "key": "west",
            "name": "West Coast Auto",
            "deliveries": [
                {
                    "key": "post",
                    "type": "http_post",
                    "lead_type": "auto-insurance",
                    "address": "http://127.0.0.1:9/buy",
                }
            ],
            "accounts": [
                {
                    "key": "nv",
                    "delivery": "post",
                    "offer": {
                        "company_name": "West Coast Auto Inc.",
                        "name": "Free quote",
                        "amount": "0",
                        "tcpa_consent_text": "I agree to be called by West Coast Auto.",
                    },
                }
            ],
        }
    ]
    ids = succeeded(
        apply(cli_server, write_json(tmp_path / "doc.json", document), cli_account["api_key"])
    )
    key = cli_account["api_key"]
    listed = leadrouter("offers", "--grpc", cli_server.address, "--key", key)
    assert listed.returncode == 0, listed.stderr
    offer_id = re.search(r"offer (\d+): West Coast Auto / nv: West Coast Auto Inc\.", listed.stdout)
    assert offer_id and "I agree to be called by West Coast Auto." in listed.stdout
    fields = {
        "FirstName": "Ann",
        "LastName": "Lee",
        "Email": "offers@example.com",
        "Phone": "7025550198",
        "Zip": "89101",
        "Age": "40",
    }
    request = leads_pb2.SubmitLeadsRequest(
        credentials=leads_pb2.Credentials(
            vid=str(ids["sources"]["acme-media"]),
            lid=str(ids["lead_types"]["auto-insurance"]),
            aid=str(ids["campaigns"]["acme-auto-web"]),
            password="acme-secret",
        ),
        leads=[
            leads_pb2.LeadInput(
                fields=[leads_pb2.FieldValue(name=k, value=v) for k, v in fields.items()],
                tags=["cli"],
                offer=leads_pb2.OfferChoice(
                    offer_ids=[offer_id[1]], consent=True, ip_address="203.0.113.9"
                ),
            )
        ],
    )
    with grpc.insecure_channel(cli_server.address) as channel:
        result = leads_pb2_grpc.LeadServiceStub(channel).SubmitLeads(request).results[0]
    assert result.lead_id, result.response_details
    assert [o.company_name for o in result.offers] == ["West Coast Auto Inc."]
    shown = leadrouter("lead", str(result.lead_id), "--grpc", cli_server.address, "--key", key)
    assert shown.returncode == 0, shown.stderr
    assert "Properties: tags cli" in shown.stdout
    assert f"offer {offer_id[1]} (account {ids['accounts']['west/nv']}): consent given" in (
        shown.stdout
    )
    assert "IP 203.0.113.9" in shown.stdout
    assert "text shown: I agree to be called by West Coast Auto." in shown.stdout


def test_ledger_prints_a_buyers_entries_and_balance(
    cli_server: Server, cli_account: dict[str, Any], tmp_path: Path
) -> None:
    document = json.loads(EXAMPLE.read_text())
    document["clients"] = [{"key": "payer", "name": "Paying Buyer"}]
    ids = succeeded(
        apply(cli_server, write_json(tmp_path / "doc.json", document), cli_account["api_key"])
    )
    buyer = ids["clients"]["payer"]
    with billing(cli_server.address, cli_account["api_key"]) as stub:
        stub.AddPayment(billing_pb2.AddPaymentRequest(client_id=buyer, amount="100", is_valid=True))
        stub.AdjustBalance(
            billing_pb2.AdjustBalanceRequest(client_id=buyer, amount="-2.505", note="fee")
        )
    shown = leadrouter(
        "ledger", str(buyer), "--grpc", cli_server.address, "--key", cli_account["api_key"]
    )
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == f"Buyer {buyer}"
    assert "payment" in lines[1] and "100.00" in lines[1]
    assert "adjustment" in lines[2] and "-2.51" in lines[2] and "balance        97.49" in lines[2]
    assert lines[-1].startswith("Balance: 97.49")
    as_json = succeeded(
        leadrouter(
            "ledger",
            str(buyer),
            "--json",
            "--grpc",
            cli_server.address,
            "--key",
            cli_account["api_key"],
        )
    )
    assert as_json["balance"]["balance"] == "97.49" and len(as_json["entries"]) == 2
    # a declined auto-charge holds the buyer, and the ledger says so
    with billing(cli_server.address, cli_account["api_key"]) as stub:
        stub.AddCreditCard(
            billing_pb2.AddCreditCardRequest(
                client_id=buyer,
                card_number="4000000000000002",
                exp_month=12,
                exp_year=2099,
                cvv="123",
                enabled=True,
                is_primary=True,
            )
        )
        stub.SetBillingSettings(
            billing_pb2.SetBillingSettingsRequest(
                client_id=buyer,
                settings=billing_pb2.BillingSettings(
                    auto_charge_below="90", auto_charge_amount="50"
                ),
            )
        )
        stub.AdjustBalance(
            billing_pb2.AdjustBalanceRequest(client_id=buyer, amount="-10", note="fee")
        )
        for _ in range(200):  # the auto-charge runner polls every second
            if stub.GetBalance(billing_pb2.GetBalanceRequest(client_id=buyer)).held:
                break
            time.sleep(0.05)
    shown = leadrouter(
        "ledger", str(buyer), "--grpc", cli_server.address, "--key", cli_account["api_key"]
    )
    assert shown.stdout.splitlines()[-1] == (
        "Balance: 87.49 (0.00 in sends under way); auto-charge 50.00 below 90.00, "
        "held: its auto-charge was declined"
    )


def test_pull_export_writes_a_pulls_leads_as_csv(
    cli_server: Server, cli_account: dict[str, Any], tmp_path: Path
) -> None:
    key = cli_account["api_key"]
    config = json.loads(EXAMPLE.read_text())
    config["clients"] = [
        {
            "key": "aged",
            "name": "Aged Buyer",
            "deliveries": [
                {"key": "post", "type": "http_post", "lead_type": "auto-insurance",
                 "address": "http://127.0.0.1:9/", "response_search": "accepted"}
            ],
            "accounts": [{"key": "main", "delivery": "post", "price": "1", "use_order": True}],
        }
    ]  # fmt: skip
    document = tmp_path / "market.json"
    document.write_text(json.dumps(config))
    ids = succeeded(apply(cli_server, document, key))
    request = leads_pb2.SubmitLeadsRequest(
        credentials=leads_pb2.Credentials(
            vid=str(ids["sources"]["acme-media"]),
            lid=str(ids["lead_types"]["auto-insurance"]),
            aid=str(ids["campaigns"]["acme-auto-web"]),
            password="acme-secret",
        ),
        leads=[
            leads_pb2.LeadInput(
                fields=[
                    leads_pb2.FieldValue(name=k, value=v)
                    for k, v in {"FirstName": "Pat", "LastName": "Lee", "Zip": "89101",
                                 "Email": "pat@example.com", "Phone": "7025550142",
                                 "Age": "41"}.items()
                ]
            )
        ],
    )  # fmt: skip
    with grpc.insecure_channel(cli_server.address) as channel:
        result = leads_pb2_grpc.LeadServiceStub(channel).SubmitLeads(request).results[0]
    lead_id = result.lead_id
    assert lead_id, result.response_details
    with marketplace(cli_server.address, key) as stub:
        pulled = stub.SaveDataPull(
            marketplace_pb2.DataPull(
                client_id=ids["clients"]["aged"],
                delivery_account_id=ids["accounts"]["aged/main"],
                lead_ids=[lead_id],
                total_price="4.5",
            )
        )
    assert list(pulled.sold_lead_ids) == [lead_id]
    shown = leadrouter(
        "pull", "export", str(pulled.pull.id), "--grpc", cli_server.address, "--key", key
    )
    assert shown.returncode == 0, shown.stderr
    header, row = shown.stdout.splitlines()
    assert header.startswith("LeadUID,ReceivedAt,Price,FirstName")
    assert row.startswith(f"{lead_id},") and ",4.50,Pat," in row
    written = tmp_path / "pull.csv"
    saved = leadrouter(
        "pull", "export", str(pulled.pull.id), "-o", written, "--grpc", cli_server.address,
        "--key", key,
    )  # fmt: skip
    assert saved.returncode == 0 and "1 leads written" in saved.stdout
    assert written.read_text().splitlines() == [header, row]
    missing = leadrouter("pull", "export", "999999", "--grpc", cli_server.address, "--key", key)
    assert missing.returncode == 1 and "999999" in missing.stderr

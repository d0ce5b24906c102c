"""Property-based tests of reading legacy posts (gateways/receiver/forms.py): whatever arrives,
reading it never raises, and the gRPC request made from it always serializes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from leadrouter.v1 import leads_pb2

from gateways.receiver.forms import Submission, parse_submission, to_request
from tests.support import fuzz

KNOWN = fuzz.Known(vid="18", lid="1", aid="23", source_key="k" * 32, lead_uids=("7",))
query_pairs = st.lists(
    st.tuples(
        st.one_of(st.sampled_from(sorted(fuzz.ID_NAMES)), fuzz.names),
        st.one_of(fuzz.texts, fuzz.numbers("18"), st.text()),
    ),
    max_size=8,
)
bearer_keys = st.one_of(st.just(""), fuzz.texts, st.text())


def read(
    body: bytes, content_type: str | None, query: list[tuple[str, str]], key: str, call: bool
) -> Submission:
    """Read the post and make its gRPC request; the request must serialize and read back."""
    submission = parse_submission(body, content_type, query, key, call_data=call)
    request = to_request(submission, body, "127.0.0.1")
    again = leads_pb2.SubmitLeadsRequest.FromString(request.SerializeToString())
    assert again == request
    return submission


@fuzz.fuzzing(200)
@given(
    body=st.binary(max_size=2000),
    content_type=fuzz.content_types(),
    query=query_pairs,
    key=bearer_keys,
    call=st.booleans(),
)
def test_any_bytes_are_read_without_an_error(
    body: bytes, content_type: str | None, query: list[tuple[str, str]], key: str, call: bool
) -> None:
    read(body, content_type, query, key, call)


@fuzz.fuzzing(150)
@given(
    body=fuzz.bodies(KNOWN),
    content_type=fuzz.content_types(),
    query=query_pairs,
    key=bearer_keys,
    call=st.booleans(),
)
def test_posts_in_any_format_and_encoding_are_read_without_an_error(
    body: bytes, content_type: str | None, query: list[tuple[str, str]], key: str, call: bool
) -> None:
    read(body, content_type, query, key, call)


@fuzz.fuzzing(120)
@given(body=fuzz.xml_bodies(KNOWN), content_type=st.sampled_from([None, "application/xml"]))
def test_xml_in_any_declared_encoding_is_read_without_an_error(
    body: bytes, content_type: str | None
) -> None:
    read(body, content_type, [], "", False)


@fuzz.fuzzing(60)
@given(body=fuzz.json_bodies(KNOWN), content_type=st.sampled_from([None, "application/json"]))
def test_json_in_any_encoding_is_read_without_an_error(
    body: bytes, content_type: str | None
) -> None:
    read(body, content_type, [], "", False)


@fuzz.fuzzing(80)
@given(
    body=st.one_of(fuzz.multipart_bodies(KNOWN), fuzz.multipart_bodies(KNOWN).flatmap(fuzz.spoiled))
)
def test_multipart_forms_are_read_or_refused_without_an_error(body: bytes) -> None:
    """A multipart form is read as a form (a lead, perhaps holding no field), or refused with
    the reason; never half-read."""
    submission = read(body, "multipart/form-data; boundary=x", [], "", False)
    if submission.parse_error:
        assert submission.parse_error.startswith("multipart/form-data error: ")
        assert submission.leads == ()
    else:
        assert len(submission.leads) == 1 and submission.request_format == "urlencoded"


@fuzz.fuzzing(30)
@given(body=fuzz.nested_bodies(), content_type=fuzz.content_types())
def test_deep_nesting_is_read_without_an_error(body: bytes, content_type: str | None) -> None:
    read(body, content_type, [], "", False)


@fuzz.fuzzing(10)
@given(body=fuzz.many_bodies(KNOWN))
def test_many_leads_and_fields_are_read_without_an_error(body: bytes) -> None:
    submission = read(body, None, [], "", False)
    assert submission.leads and not submission.parse_error

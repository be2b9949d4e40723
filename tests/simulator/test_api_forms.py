"""Stripe's bracket form encoding decodes to nested params, and ambiguous input is refused by name."""
import pytest
from stripe._encode import _api_encode
from urllib.parse import urlencode

from simulator.api.forms import decode_form
from simulator.errors import InvalidRequestError


def sdk_encoded(params):
    """The exact query the official SDK sends for ``params``."""
    return urlencode(list(_api_encode(params)))


@pytest.mark.parametrize("params", [
    {"amount": "1000", "currency": "usd"},
    {"metadata": {"order_id": "6735", "note": "a&b=c [x]"}},
    {"expand": ["latest_charge", "latest_charge.balance_transaction"]},
    {"payment_method_types": ["card"], "line_items": [{"price_data": {"currency": "usd", "unit_amount": "500",
                                                                       "product_data": {"name": "Tea"}},
                                                        "quantity": "2"}]},
    {"a": {"b": {"c": {"d": "deep"}}}},
    {"name": "日本語 ümlaut"},
])
def test_what_the_official_sdk_sends_round_trips(params):
    assert decode_form(sdk_encoded(params)) == params


def test_empty_brackets_append_and_build_hashes_per_repeat():
    assert decode_form("expand[]=a&expand[]=b") == {"expand": ["a", "b"]}
    assert decode_form("items[][price]=p1&items[][quantity]=1&items[][price]=p2") == {
        "items": [{"price": "p1", "quantity": "1"}, {"price": "p2"}]}


def test_indexed_arrays_follow_index_order_not_wire_order():
    assert decode_form("x[1]=b&x[0]=a&x[10]=c") == {"x": ["a", "b", "c"]}


def test_metadata_digit_keys_stay_keys():
    assert decode_form("metadata[0]=zero&metadata[1]=one") == {"metadata": {"0": "zero", "1": "one"}}


def test_empty_values_are_kept_as_empty_strings():
    # Stripe uses an empty value to unset (e.g. metadata[key]=); it must reach the backend.
    assert decode_form("description=&metadata[k]=") == {"description": "", "metadata": {"k": ""}}


@pytest.mark.parametrize("query, param", [
    ("amount=1&amount=2", "amount"),
    ("metadata[k]=1&metadata[k]=2", "metadata[k]"),
    ("a=1&a[b]=2", "a"),
    ("a[b]=2&a=1", "a"),
    ("x[]=1&x[0]=2", "x"),
    ("x[0]=1&x[]=2", "x"),
    ("x[0]=1&x[k]=2", "x"),
    ("a]b=1", "a]b"),
    ("a[b=1", "a[b"),
    ("[a]=1", "[a]"),
    ("a[][]=1", "a[][]"),
])
def test_ambiguous_or_malformed_names_are_refused_naming_the_param(query, param):
    with pytest.raises(InvalidRequestError) as info:
        decode_form(query)
    assert info.value.param == param
    assert info.value.http_status == 400


def test_bad_percent_escapes_and_raw_bytes_are_400():
    with pytest.raises(InvalidRequestError, match="UTF-8"):
        decode_form("name=%ff%fe")
    with pytest.raises(InvalidRequestError, match="non-ASCII"):
        decode_form("name=caf\xe9".encode("latin-1"), "request body")
    with pytest.raises(InvalidRequestError, match="non-ASCII"):
        decode_form("name=caf\xc3\xa9")  # raw UTF-8 bytes in a WSGI (latin-1) query string
    with pytest.raises(InvalidRequestError, match="without a parameter name"):
        decode_form("=orphan")

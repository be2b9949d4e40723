"""Settings with environment twins, target profiles, and the JSON paths they use."""
import pytest

from harness.adapters import jsonpath
from harness.adapters.http_profile import HttpTarget, ProfileError, load_profile, merge_profile, substitute
from harness.engine import target as t
from harness.engine.options import DEFAULT_SECRET, OptionError, resolve


def test_option_beats_env_beats_default():
    env = {"POSX_TARGET_URL": "https://env.example", "STRIPE_WEBHOOK_SECRET": "whsec_env", "POSX_MODE": "inject"}
    opts = resolve({"target_url": "https://cli.example"}, env)
    assert opts.target_url == "https://cli.example"
    assert opts.webhook_secret == "whsec_env" and opts.mode == "inject"
    assert opts.timeout == 10.0 and not opts.embedded
    bundled = resolve({}, {})
    assert bundled.embedded and bundled.secret == DEFAULT_SECRET and bundled.timeout == 3.0


@pytest.mark.parametrize("given, env, words", [
    ({"mode": "push"}, {}, "--posx-mode"),
    ({}, {"POSX_TIMEOUT": "soon"}, "$POSX_TIMEOUT"),
    ({"target_url": "https://x.example"}, {}, "needs its webhook secret"),
    ({"webhook_secret": "whsec_abc\n"}, {}, "surrounding whitespace"),
])
def test_bad_settings_name_what_is_wrong(given, env, words):
    with pytest.raises(OptionError, match=None) as exc:
        resolve(given, env)
    assert words in str(exc.value)


def test_json_paths_and_counts():
    doc = {"data": {"order": {"status": "paid", "items": [{"id": "a"}, {"id": "b"}]}}, "n": 3}
    assert jsonpath.get(doc, "data.order.status") == "paid"
    assert jsonpath.get(doc, "data.order.items[1].id") == "b"
    assert jsonpath.count(jsonpath.get(doc, "data.order.items")) == 2 and jsonpath.count(doc["n"]) == 3
    with pytest.raises(jsonpath.PathNotFound, match="missing at 'nope'"):
        jsonpath.get(doc, "data.nope.status")


def test_substitution_keeps_types_of_whole_variables():
    assert substitute({"q": "${quantity}", "h": "Bearer ${T}"}, {"quantity": 3, "T": "tok"}) == {"q": 3, "h": "Bearer tok"}


def test_profile_without_counts_reports_why_checks_are_skipped(tmp_path):
    p = tmp_path / "posx.yaml"
    p.write_text("base_url: http://127.0.0.1:9\nfields: {allocations: null, commissions: null}\n")
    opts = resolve({"profile": str(p), "webhook_secret": "whsec_x"}, {})
    target = HttpTarget(opts, load_profile(str(p)))
    assert not target.has(t.ALLOCATIONS) and target.has(t.DISPUTES)
    with pytest.raises(t.Unsupported) as exc:
        target.fail_next_webhooks(1)
    assert "fault_hooks.fail_next" in exc.value.reason
    assert "no JSON path for allocations" in target.why_missing(t.ALLOCATIONS)


@pytest.mark.parametrize("text, words", [
    ("fields: {colour: x}\n", "unknown field(s) colour"),
    ("hooks: {}\n", "unknown key(s) hooks"),
    ("fields: {status: 'a..[b'}\n", "fields.status"),
    ("create_order: {method: POST}\n", "create_order needs at least a path"),
    ("- a\n- b\n", "must be a mapping"),
    ("base_url: [\n", "not valid YAML"),
])
def test_profile_errors(tmp_path, text, words):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(ProfileError) as exc:
        load_profile(str(p))
    assert words in str(exc.value) and str(p) in str(exc.value)


def test_unreachable_target_is_its_own_error():
    opts = resolve({"target_url": "http://127.0.0.1:9", "webhook_secret": "whsec_x"}, {})
    with pytest.raises(t.TargetUnreachable):
        HttpTarget(opts, merge_profile({})).start()

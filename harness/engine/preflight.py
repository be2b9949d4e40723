"""Before the suite runs against an HTTP target: is the harness set up right for it?

A wrong or missing tier, site code, token or secret, or an api-mode target whose Stripe API
base cannot be this run's simulator, makes every scenario fail the same way, which reads like
a broken deploy. These are usage errors (exit 2): each is found here with one or two requests
and named by the flag that fixes it. Defaults the contract lets a target tell
(``GET /api/v1/tiers/``: its tiers and site codes) are taken from the target.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from harness.engine.options import HarnessOptions, OptionError

TIERS_PATH = "/api/v1/tiers/"
PROBE_ORDER_ID = "posx-harness-preflight-no-such-order"


@dataclass
class Preflight:
    """What the checks found: settings taken from the target, and notes to print."""
    settings: dict = field(default_factory=dict)   # setting name -> value discovered
    notes: list = field(default_factory=list)
    hooks: list = field(default_factory=list)      # fault hooks the target offers


def _uses(spec: Any, variable: str) -> bool:
    return "${%s}" % variable in json.dumps(spec)


def check(options: HarnessOptions, target, given: Mapping[str, Any], check_secret: bool = True) -> Preflight:
    """Raise ``OptionError`` (usage) naming the flag; return what was discovered.

    ``target`` is a started ``HttpTarget``; ``given`` the settings the user passed (so a
    default can be told from a choice)."""
    out = Preflight()
    if options.mode == "api" and not options.sim_port:
        raise OptionError(
            "an api-mode target sends its Stripe API calls to the address in its STRIPE_API_BASE, so the "
            "simulator must listen there: pass %s PORT (the port of the target's STRIPE_API_BASE, "
            "http://%s:PORT), or %s inject when the target talks to another Stripe"
            % (options.flag("sim_port"), options.sim_host, options.flag("mode")))
    _tiers(options, target, given, out)
    _token(options, target)
    if check_secret:
        _secret(options, target)
    out.hooks = target.discover_hooks()
    return out


def _tiers(options: HarnessOptions, target, given: Mapping[str, Any], out: Preflight) -> None:
    create = target.profile.get("create_order") or {}
    needs_tier = _uses(create, "POSX_TIER")
    needs_site = _uses(target.profile.get("headers") or {}, "POSX_SITE_CODE") or _uses(create, "POSX_SITE_CODE")
    resp = target.call({"method": "GET", "path": TIERS_PATH})
    doc = _json(resp)
    data = doc.get("data") if resp.status_code == 200 and isinstance(doc, dict) else None
    tiers = [t.get("id") for t in data if isinstance(t, dict) and t.get("id")] if isinstance(data, list) else []
    tier_flag = options.flag("tier")
    if getattr(target, "tier_note", None):  # the target's start() already took the first tier
        out.settings["tier"] = options.tier
        out.notes.append("%s (choose with %s)" % (target.tier_note, tier_flag))
    if needs_tier:
        if not tiers:
            if not options.tier:
                raise OptionError("%s is missing, and the target has no tier list to take one from (GET %s "
                                  "answered %d): pass %s TIER_ID, one the target sells"
                                  % (tier_flag, TIERS_PATH, resp.status_code, tier_flag))
        elif not options.tier:
            out.settings["tier"] = options.tier = tiers[0]
            out.notes.append("tier %s: the first of GET %s (choose with %s)" % (tiers[0], TIERS_PATH, tier_flag))
        elif options.tier not in tiers:
            raise OptionError("%s %s: the target sells no such tier; GET %s lists %s"
                              % (tier_flag, options.tier, TIERS_PATH, ", ".join(tiers)))
    sites = doc.get("site_codes") if isinstance(doc, dict) else None
    if needs_site and isinstance(sites, list) and sites and options.site_code not in sites:
        site_flag = options.flag("site_code")
        if given.get("site_code"):
            raise OptionError("%s %s: the target accepts none such; GET %s lists %s"
                              % (site_flag, options.site_code, TIERS_PATH, ", ".join(map(str, sites))))
        out.settings["site_code"] = options.site_code = str(sites[0])
        out.notes.append("site code %s: the first of GET %s (choose with %s)" % (sites[0], TIERS_PATH, site_flag))


def _token(options: HarnessOptions, target) -> None:
    """The order API must take the token: read an order that does not exist (404 is right)."""
    spec = target.profile.get("get_order")
    if not spec:
        return
    resp = target.call(spec, id=PROBE_ORDER_ID)
    if resp.status_code in (401, 403):
        flag = options.flag("api_token")
        if options.api_token:
            raise OptionError("%s: the target's order API refuses this token (GET %s answered %d): pass a token "
                              "it accepts" % (flag, spec.get("path"), resp.status_code))
        raise OptionError("%s is missing: the target's order API answered %d without one; pass %s TOKEN "
                          "(a Bearer token it accepts)" % (flag, resp.status_code, flag))


def _secret(options: HarnessOptions, target) -> None:
    """A signed event about no order must be accepted; refused while an unsigned one is refused
    too, the secret is not the target's (run ``posx-harness doctor`` for which mistake)."""
    from harness.engine.doctor import Doctor, test_event

    doctor = Doctor(target.webhook_url, options.secret, timeout=target.timeout, session=target.http)
    signed = doctor.send_signed(test_event(), options.secret)
    if signed.status != 400:
        return  # accepted, or a fault of the target itself: the scenarios will show it
    unsigned = doctor.post(b"{}", None)
    if unsigned.status != 400:
        return
    flag = options.flag("webhook_secret")
    raise OptionError("%s: the target refused an event signed with it (%s): pass the target's own "
                      "STRIPE_WEBHOOK_SECRET (posx-harness doctor --target %s --secret ... tells which mistake "
                      "a deploy's secret has)" % (flag, signed.describe(), target.webhook_url))


def _json(resp) -> Optional[Any]:
    try:
        return resp.json()
    except ValueError:
        return None

"""Harness settings: one table used by the pytest options, their environment twins and the CLI.

Precedence: command-line option, then environment variable, then default.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any, Mapping, Optional

MODES = ("api", "inject")
FLAG_STYLES = ("pytest", "cli")
# Settings ``posx-harness run`` has no flag for (messages then name the pytest option).
NOT_ON_CLI = {"settle", "flag_style"}
DEFAULT_SECRET = "whsec_posx_harness_reference_secret"


@dataclass(frozen=True)
class Setting:
    name: str            # attribute of HarnessOptions
    option: str          # pytest / CLI long option
    env: Optional[str]   # environment twin
    default: Any
    help: str
    choices: Optional[tuple] = None
    type: type = str


SETTINGS: tuple[Setting, ...] = (
    Setting("target_url", "--posx-target-url", "POSX_TARGET_URL", None,
            "base URL of the POSX backend to test (default: the bundled reference receiver)"),
    Setting("api_token", "--posx-api-token", "POSX_API_TOKEN", None,
            "Bearer token for the target's order API"),
    Setting("site_code", "--posx-site-code", "POSX_SITE_CODE", "NA", "X-Site-Code header value"),
    Setting("tier", "--posx-tier", "POSX_TIER", None, "tier_id used when creating orders"),
    Setting("webhook_secret", "--posx-webhook-secret", "STRIPE_WEBHOOK_SECRET", None,
            "the target's STRIPE_WEBHOOK_SECRET (whsec_...); the simulator signs with it"),
    Setting("mode", "--posx-mode", "POSX_MODE", "api",
            "api: the target's Stripe API base is the simulator; inject: the simulator adopts "
            "the intent id the target made elsewhere and sends the events", choices=MODES),
    Setting("profile", "--posx-profile", "POSX_PROFILE", None,
            "YAML/JSON profile describing an HTTP target (URLs, headers, JSON paths)"),
    Setting("adapter", "--posx-adapter", "POSX_ADAPTER", None,
            "Python target adapter class as module.path:ClassName"),
    Setting("flavor", "--posx-flavor", "POSX_FLAVOR", "reference",
            "flavour of the bundled receiver (reference, guide, flaw-...)"),
    Setting("sim_host", "--posx-sim-host", "POSX_SIM_HOST", "127.0.0.1",
            "address the simulator binds (an external target must reach it in api mode)"),
    Setting("sim_port", "--posx-sim-port", "POSX_SIM_PORT", 0,
            "port the simulator binds (0 = a free one)", type=int),
    Setting("timeout", "--posx-timeout", "POSX_TIMEOUT", None,
            "seconds to wait for an order to reach the expected state (default: 3 for the bundled "
            "receiver, 10 for an external target)", type=float),
    Setting("settle", "--posx-settle", "POSX_SETTLE", 0.2,
            "seconds an order must keep the expected counts once reached (catches late "
            "second allocations)", type=float),
    Setting("flag_style", "--posx-flag-style", None, "pytest",
            "how messages name options: pytest (--posx-mode) or cli (posx-harness run's --mode)",
            choices=FLAG_STYLES),
    Setting("seed", "--posx-seed", "POSX_SEED", None,
            "seed of the simulator (ids, faults, sampled orderings); default: fixed for the bundled "
            "receiver, fresh per run for an external target, whose database outlives the run", type=int),
)


@dataclass
class HarnessOptions:
    target_url: Optional[str] = None
    api_token: Optional[str] = None
    site_code: str = "NA"
    tier: Optional[str] = None
    webhook_secret: Optional[str] = None
    mode: str = "api"
    profile: Optional[str] = None
    adapter: Optional[str] = None
    flavor: str = "reference"
    sim_host: str = "127.0.0.1"
    sim_port: int = 0
    timeout: Optional[float] = None
    settle: float = 0.2
    flag_style: str = "pytest"
    seed: Optional[int] = None
    extra: dict = field(default_factory=dict)

    def flag(self, name: str) -> str:
        """The option a person sets ``name`` with, as they run the harness (CLI or pytest)."""
        return flag_name(name, self.flag_style)

    @property
    def embedded(self) -> bool:
        """True when the harness starts its own reference receiver."""
        return not (self.target_url or self.profile or self.adapter)

    @property
    def secret(self) -> str:
        return self.webhook_secret or DEFAULT_SECRET

    def describe(self) -> str:
        if self.adapter:
            return "adapter %s" % self.adapter
        if self.profile:
            return "profile %s%s" % (self.profile, " at %s" % self.target_url if self.target_url else "")
        if self.target_url:
            return "HTTP target %s" % self.target_url
        return "bundled receiver (flavor %s)" % self.flavor


class OptionError(ValueError):
    """A setting has a value the harness cannot use; the message names it."""


_BY_NAME = {s.name: s for s in SETTINGS}


def flag_name(name: str, style: str = "pytest") -> str:
    """``webhook_secret`` -> ``--posx-webhook-secret`` (pytest) or ``--webhook-secret`` (cli)."""
    option = _BY_NAME[name].option
    if style == "cli" and name not in NOT_ON_CLI:
        return "--" + option[len("--posx-"):]
    return option


def _convert(setting: Setting, raw: Any, source: str) -> Any:
    if raw is None or raw == "":
        return setting.default
    try:
        value = setting.type(raw)
    except (TypeError, ValueError):
        raise OptionError("%s (%s) must be a %s, got %r" % (setting.option, source, setting.type.__name__, raw))
    if setting.choices and value not in setting.choices:
        raise OptionError("%s (%s) must be one of %s, got %r"
                          % (setting.option, source, ", ".join(setting.choices), raw))
    return value


def resolve(given: Mapping[str, Any], environ: Optional[Mapping[str, str]] = None) -> HarnessOptions:
    """Build the options from explicitly given values (None = not given), then env, then defaults."""
    env = os.environ if environ is None else environ
    style = given.get("flag_style") or "pytest"
    values = {}
    for s in SETTINGS:
        raw, source = given.get(s.name), flag_name(s.name, style if style in FLAG_STYLES else "pytest")
        if raw is None and s.env and env.get(s.env):
            raw, source = env[s.env], "$" + s.env
        values[s.name] = _convert(s, raw, source)
    opts = HarnessOptions(**values)
    if opts.webhook_secret is not None and opts.webhook_secret != opts.webhook_secret.strip():
        raise OptionError("the webhook secret has surrounding whitespace; Stripe's secret has none "
                          "(copy it again without spaces or newline)")
    if opts.timeout is None:
        opts.timeout = 3.0 if opts.embedded else 10.0
    if opts.timeout <= 0:
        raise OptionError("%s must be more than 0 seconds, got %r" % (opts.flag("timeout"), opts.timeout))
    if not opts.embedded and not opts.webhook_secret:
        raise OptionError("an external target needs its webhook secret: pass %s whsec_... (the target's "
                          "STRIPE_WEBHOOK_SECRET) or set $STRIPE_WEBHOOK_SECRET" % opts.flag("webhook_secret"))
    return opts


def setting_names() -> list[str]:
    return [f.name for f in fields(HarnessOptions) if f.name != "extra"]

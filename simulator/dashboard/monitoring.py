"""The dashboard's monitoring panel: per endpoint, the figures of ``/_sim/endpoints/<id>/stats``
(the same function computes both) and two small charts drawn as inline SVG by the page.

The charts are server-rendered SVG paths (no script, no canvas, nothing from the network;
the page's CSP forbids inline styles, so colours are SVG attributes). A bucket without
attempts has no point (never a zero); the line joins the points on either side of it.
"""
from __future__ import annotations

from typing import Optional

from simulator.delivery import stats as S

WIDTH, HEIGHT, PAD = 360, 90, 6
COLOURS = {"success_rate": "#1a7f37", "p50_ms": "#0969da", "p95_ms": "#bf8700", "p99_ms": "#cf222e"}


def fmt_rate(v: Optional[float]) -> str:
    return "—" if v is None else "%.1f%%" % (v * 100)


def fmt_ms(v: Optional[float]) -> str:
    return "—" if v is None else "%.1f ms" % v


def _path(values: list, top: float) -> str:
    """An SVG path through the values that exist (None: no point), x spread over the width, y scaled to top."""
    n = len(values)
    top = top or 1.0
    d, pen = [], False
    for i, v in enumerate(values):
        if v is None:
            continue
        x = PAD + (WIDTH - 2 * PAD) * (i / (n - 1) if n > 1 else 0.5)
        y = HEIGHT - PAD - (HEIGHT - 2 * PAD) * (v / top)
        d.append("%s%.1f %.1f" % ("L" if pen else "M", x, y))
        pen = True
    return " ".join(d)


def _dots(values: list, top: float) -> list[dict]:
    """A dot per point, so a lone bucket (one point, no line) still shows."""
    n = len(values)
    top = top or 1.0
    out = []
    for i, v in enumerate(values):
        if v is not None:
            out.append({"x": round(PAD + (WIDTH - 2 * PAD) * (i / (n - 1) if n > 1 else 0.5), 1),
                        "y": round(HEIGHT - PAD - (HEIGHT - 2 * PAD) * (v / top), 1)})
    return out


def chart(series: list[dict], keys: tuple, top: Optional[float] = None) -> dict:
    values = {k: [b.get(k) for b in series] for k in keys}
    if top is None:
        seen = [v for vs in values.values() for v in vs if v is not None]
        top = max(seen) * 1.1 if seen and max(seen) > 0 else 1.0
    return {"width": WIDTH, "height": HEIGHT, "top": top, "pad": PAD,
            "lines": [{"key": k, "colour": COLOURS[k], "d": _path(values[k], top), "dots": _dots(values[k], top)}
                      for k in keys]}


def endpoint_panel(sim, endpoint: dict) -> dict:
    figures = S.for_endpoint(sim, endpoint["id"])
    series = figures["series"]
    return {
        "id": endpoint["id"], "url": endpoint.get("url"), "figures": figures,
        "shown": {"success_rate": fmt_rate(figures["success_rate"]), "p50_ms": fmt_ms(figures["p50_ms"]),
                  "p95_ms": fmt_ms(figures["p95_ms"]), "p99_ms": fmt_ms(figures["p99_ms"]),
                  "attempts": figures["attempts"], "server_errors": figures["server_errors"]},
        "rate_chart": chart(series, ("success_rate",), top=1.0),
        "latency_chart": chart(series, ("p50_ms", "p95_ms", "p99_ms")),
        "alerts": figures["alerts"],
        "firing": any(a["firing"] for a in figures["alerts"]),
    }


def panels(sim, endpoints: list[dict]) -> list[dict]:
    if getattr(sim, "engine", None) is None:
        return []
    return [endpoint_panel(sim, ep) for ep in endpoints]

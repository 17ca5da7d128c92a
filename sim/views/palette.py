"""Colours, labels and the shared layout of every figure.

One place for them so the report, the PNG export and the dashboard look the same. Categories use
the Okabe-Ito palette and ordered escalation levels use cividis: both stay distinguishable under the
common forms of colour blindness. Fonts are system fonts only: nothing is fetched when a page opens.
"""

from __future__ import annotations

from typing import Any

from plotly.colors import sample_colorscale

from sim.results import ACTORS, EVENT_KINDS, LEVEL_NAMES

OKABE_ITO = {
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "black": "#000000",
    "grey": "#999999",
}

# Several scenarios or result folders on one figure cycle through these, darkest first.
SERIES = [OKABE_ITO[c] for c in ("blue", "vermillion", "green", "orange", "purple", "sky", "black", "yellow")]

ACTOR_LABELS = {
    "kfor": "KFOR",
    "police": "Kosovo Police",
    "residents": "Kosovo Serb residents",
    "armed": "Armed groups",
    "saf": "Serbian Armed Forces",
}
ACTOR_COLOURS = {
    "kfor": OKABE_ITO["blue"],
    "police": OKABE_ITO["sky"],
    "residents": OKABE_ITO["orange"],
    "armed": OKABE_ITO["vermillion"],
    "saf": OKABE_ITO["purple"],
}
assert set(ACTOR_LABELS) == set(ACTORS)

# Ordered levels L0..L7: cividis from dark blue (calm) to yellow (interstate armed conflict).
LEVEL_COLOURS = sample_colorscale("cividis", [i / (len(LEVEL_NAMES) - 1) for i in range(len(LEVEL_NAMES))])

# Probability strips: white at zero so an empty cell reads as "never", dark blue at one.
PROBABILITY_SCALE = [
    [0.0, "#ffffff"],
    [0.05, "#eef3fa"],
    [0.25, "#b6cde6"],
    [0.5, "#6a9bcc"],
    [0.75, "#2e67a6"],
    [1.0, "#08306b"],
]

KIND_LABELS = {
    "timeline": "Timeline event",
    "protest": "Protest",
    "riot": "Riot / clash",
    "arrests": "Arrests",
    "dispersal": "Crowd dispersed by KFOR",
    "armed_attack": "Armed attack",
    "interdiction": "Arms interdicted",
    "detection": "Armed group detected",
    "attack_called_off": "Attack called off",
    "reinforcement_arrival": "Reinforcement arrives",
    "reinforcement_departure": "Reinforcement leaves",
    "saf_state": "SAF readiness change",
}
KIND_STYLE: dict[str, tuple[str, str]] = {
    "timeline": (OKABE_ITO["black"], "star"),
    "protest": (OKABE_ITO["orange"], "circle"),
    "riot": (OKABE_ITO["vermillion"], "diamond"),
    "arrests": (OKABE_ITO["sky"], "square"),
    "dispersal": (OKABE_ITO["blue"], "triangle-down"),
    "armed_attack": (OKABE_ITO["black"], "x"),
    "interdiction": (OKABE_ITO["green"], "triangle-up"),
    "detection": (OKABE_ITO["green"], "cross"),
    "attack_called_off": (OKABE_ITO["grey"], "x-open"),
    "reinforcement_arrival": (OKABE_ITO["blue"], "square-open"),
    "reinforcement_departure": (OKABE_ITO["grey"], "square-open"),
    "saf_state": (OKABE_ITO["purple"], "hexagon"),
}
assert set(KIND_STYLE) == set(EVENT_KINDS) == set(KIND_LABELS)

PLACE_SYMBOLS = {
    "town": "circle",
    "village": "circle-open",
    "crossing": "line-ew-open",
    "site": "diamond-open",
    "camp": "square-open",
    "staging": "triangle-up-open",
}
SIDE_COLOURS = {"kosovo": "#444444", "serbia": OKABE_ITO["purple"]}

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"


def base_layout(title: str, height: int = 420, **extra: Any) -> dict[str, Any]:
    """The layout every figure starts from: white background, legible fonts, room for a title."""
    layout: dict[str, Any] = {
        "template": "plotly_white",
        "title": {"text": title, "x": 0.0, "xanchor": "left", "pad": {"l": 12}, "font": {"size": 17}},
        "font": {"family": FONT, "size": 13, "color": "#222222"},
        "height": height,
        "margin": {"l": 70, "r": 30, "t": 70, "b": 55},
        "hovermode": "closest",
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 1.0, "xanchor": "right"},
        "hoverlabel": {"font": {"family": FONT, "size": 12}},
    }
    layout.update(extra)
    return layout


def rgba(hex_colour: str, alpha: float) -> str:
    """A translucent version of a colour, for interval bands."""
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"

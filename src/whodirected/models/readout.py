"""The style read-out: a frame's style descriptors in words, beside a director's usual look.

A model keeps each director's style profile (mean and spread of every descriptor of
:mod:`whodirected.features.style` over their training frames). A frame's traits are the descriptors
where it stands out from the whole training set; the read-out says which of them the
predicted director shares, e.g. "2.39:1 letterbox, cool teal palette, symmetric
composition — typical of Denis Villeneuve".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from whodirected.features.style import NAMES

STANDOUT = 1.0  # a descriptor this many standard deviations from the training mean is a trait
BAR_SHARE = 0.04  # bars covering more than this share of the frame are named
HUE_NAMES = ("red-orange", "yellow", "lime", "green", "teal", "blue", "violet", "magenta")
RATIOS = {
    2.39: "2.39:1",
    2.0: "2:1",
    1.85: "1.85:1",
    1.78: "16:9",
    1.66: "1.66:1",
    1.37: "1.37:1",
    1.33: "4:3",
}
_I = {name: i for i, name in enumerate(NAMES)}
_HUES = [i for i, name in enumerate(NAMES) if name.startswith("hue_")]
_Z_TRAITS = (  # descriptor, phrase when high, phrase when low
    ("brightness", "bright", "dark"),
    ("contrast", "high contrast", "soft contrast"),
    ("saturation", "saturated colour", "muted colour"),
    ("symmetry", "symmetric composition", None),
    ("off_centre", "off-centre composition", None),
    ("edge_density", "busy detail", "clean, sparse frame"),
    ("grain", "grainy", None),
)


@dataclass
class StyleProfiles:
    """Per-director mean and spread of the style descriptors, and the whole training set's."""

    mean: np.ndarray  # (directors, descriptors)
    std: np.ndarray
    overall_mean: np.ndarray  # (descriptors,)
    overall_std: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray, y: np.ndarray, n_classes: int) -> StyleProfiles:
        """Profiles from descriptor ``values`` (rows of NaN for frames without them) and labels."""
        mean = np.stack([np.nanmean(values[y == c], axis=0) for c in range(n_classes)])
        std = np.stack([np.nanstd(values[y == c], axis=0) for c in range(n_classes)]) + 1e-6
        overall_mean, overall_std = np.nanmean(values, axis=0), np.nanstd(values, axis=0) + 1e-6
        return cls(*(a.astype(np.float32) for a in (mean, std, overall_mean, overall_std)))

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "style_mean": self.mean,
            "style_std": self.std,
            "style_overall_mean": self.overall_mean,
            "style_overall_std": self.overall_std,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> StyleProfiles | None:
        if "style_mean" not in arrays:
            return None
        return cls(
            arrays["style_mean"],
            arrays["style_std"],
            arrays["style_overall_mean"],
            arrays["style_overall_std"],
        )


@dataclass
class StyleReadout:
    """A frame's look in words, and how it compares with the predicted director's."""

    traits: list[str]  # the frame's distinctive traits
    director: str
    director_traits: list[str]  # the director's usual traits
    shared: list[str]  # traits of the frame the director usually has too
    summary: str
    descriptors: dict[str, float] = field(default_factory=dict)


def _ratio(aspect: float) -> str:
    known = min(RATIOS, key=lambda r: abs(r - aspect))
    return RATIOS[known] if abs(known - aspect) / known < 0.03 else f"{aspect:.2f}:1"


def traits(values: np.ndarray, mean: np.ndarray, std: np.ndarray) -> list[str]:
    """The phrases that describe ``values`` where they stand out from ``mean``/``std``."""
    z = (values - mean) / std
    found = []
    aspect = _ratio(float(values[_I["active_aspect"]]))
    if values[_I["letterbox"]] > BAR_SHARE:
        found.append(f"{aspect} letterbox")
    elif values[_I["pillarbox"]] > BAR_SHARE:
        found.append(f"{aspect} pillarbox")
    elif abs(z[_I["active_aspect"]]) >= STANDOUT:
        found.append(f"{aspect} full frame")
    if values[_I["saturation"]] < 0.06:
        found.append("black-and-white")
    else:
        temperature = z[_I["warmth"]]
        tone = "warm " if temperature >= STANDOUT else "cool " if temperature <= -STANDOUT else ""
        hues = values[_HUES]
        hue = f"{HUE_NAMES[int(np.argmax(hues))]} " if hues.max() > 0.15 else ""
        if tone or hue:
            found.append(f"{tone}{hue}palette")
    for name, high, low in _Z_TRAITS:
        if z[_I[name]] >= STANDOUT:
            found.append(high)
        elif low and z[_I[name]] <= -STANDOUT:
            found.append(low)
    return found


def read_out(values: np.ndarray, profiles: StyleProfiles, director: int, name: str) -> StyleReadout:
    """The frame's traits beside those of director number ``director`` (called ``name``)."""
    frame = traits(values, profiles.overall_mean, profiles.overall_std)
    usual = traits(profiles.mean[director], profiles.overall_mean, profiles.overall_std)
    shared = [t for t in frame if t in usual]
    if not frame:
        summary = f"no strong style traits; {name} usually: {', '.join(usual) or 'no strong traits'}"
    elif shared and len(shared) * 2 >= len(frame):
        summary = f"{', '.join(frame)} — typical of {name}"
    else:
        summary = f"{', '.join(frame)} — {name} usually: {', '.join(usual) or 'no strong traits'}"
    return StyleReadout(
        frame,
        name,
        usual,
        shared,
        summary,
        {n: round(float(v), 4) for n, v in zip(NAMES, values, strict=True)},
    )

"""Training figures (matplotlib, written atomically as PNG)."""

from __future__ import annotations

from pathlib import Path

from whodirected import _atomic as atomic


def training_figure(history: dict[str, list[float]], path: str | Path, head: str) -> Path:
    """Loss/accuracy per epoch for iterative heads; the validation curve of C (logistic) or of
    the temperature (centroid) on held-out units."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    curves = (  # setting, score, axis labels
        ("C", "cv_balanced_accuracy", "C (inverse regularisation)", "held-out CV balanced accuracy"),
        ("temperature", "cv_log_loss", "temperature (softmax sharpness)", "held-out log-loss"),
    )
    tuned = next((c for c in curves if history.get(c[0])), None)
    if tuned:
        setting, score, xlabel, ylabel = tuned
        ax.plot(history[setting], history[score], "o-")
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.axvline(history[f"chosen_{setting}"][0], ls="--", color="grey", label="chosen")
        ax.legend()
    elif "loss" in history:
        for name, values in history.items():
            if values and not name.startswith("chosen"):
                ax.plot(range(1, len(values) + 1), values, label=name)
        ax.set_xlabel("epoch")
        ax.legend()
    else:  # a centroid head with no held-out unit to choose its temperature on
        ax.text(0.5, 0.5, "nothing was tuned: no held-out unit to tune on", ha="center", va="center")
        ax.set_axis_off()
    ax.set_title(f"Training ({head})")
    path = Path(path)
    with atomic.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path

"""Training figures (matplotlib, written atomically as PNG)."""

from __future__ import annotations

from pathlib import Path

from . import atomic


def training_figure(history: dict[str, list[float]], path: str | Path, head: str) -> Path:
    """Loss/accuracy per epoch for iterative heads; validation curve of C for logistic."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    if history.get("C"):
        ax.plot(history["C"], history["cv_balanced_accuracy"], "o-")
        ax.set_xscale("log")
        ax.set_xlabel("C (inverse regularisation)")
        ax.set_ylabel("film-grouped CV balanced accuracy")
        ax.axvline(history["chosen_C"][0], ls="--", color="grey", label="chosen")
        ax.legend()
    else:
        for name, values in history.items():
            if values and name != "chosen_C":
                ax.plot(range(1, len(values) + 1), values, label=name)
        ax.set_xlabel("epoch")
        ax.legend()
    ax.set_title(f"Training ({head})")
    path = Path(path)
    with atomic.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path

"""Horizontal bar charts for the benchmark reports (matplotlib)."""


def bar_panels(path, title, rows, panels, width=None):
    """One panel per (key, label, log_scale) in `panels`, a bar per row name.

    `rows` maps a client's name to its measurements; the names label only the
    first panel's bars.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(rows)
    fig, axes = plt.subplots(1, len(panels), figsize=(width or 5 * len(panels), 4.5))
    for i, (ax, (key, label, log)) in enumerate(zip(axes, panels)):
        ax.barh(names, [rows[n][key] for n in names], color=["#3b7dd8", "#d8843b"][i % 2])
        if log:
            ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.invert_yaxis()
        if i:
            ax.set_yticklabels([])
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)

"""The course's figures in one style: legends that keep what colour means apart from what line style means.

A figure that compares, say, initializers (colour) across frameworks (line style) gets two legends,
one per meaning, placed under the axes so that they stay readable when the figure is scaled down to
a phone's width.
"""
FRAMEWORK_STYLES = {"tf1": ":", "keras": "--", "torch": "-"}


def legend_by(ax, colours=None, styles=None, colour_title=None, style_title=None, fontsize=8):
    """Add up to two legends under ``ax``: ``colours`` (label -> colour), ``styles`` (label -> line style).

    Colour entries are drawn as solid lines, style entries in grey, so neither legend mixes meanings.
    """
    from matplotlib.lines import Line2D

    legends = []
    for entries, title, make in ((colours, colour_title, lambda v: Line2D([], [], color=v, lw=2)),
                                 (styles, style_title, lambda v: Line2D([], [], color="0.3", ls=v))):
        if entries:
            legends.append((title, [make(v) for v in entries.values()], list(entries)))
    for i, (title, handles, labels) in enumerate(legends):
        x = 0.0 if len(legends) == 1 or i == 0 else 0.62
        legend = ax.legend(handles, labels, title=title, fontsize=fontsize, title_fontsize=fontsize,
                           loc="upper left", bbox_to_anchor=(x, -0.18), frameon=False,
                           ncol=1 if len(labels) > 3 and len(legends) > 1 else len(labels))
        if i < len(legends) - 1:
            ax.add_artist(legend)      # ax.legend replaces the axes' legend: keep the earlier ones
    return ax


def activity_figure(recorder, title=None):
    """One image per hidden layer (time on x, activation value on y, log counts as colour) and, on the
    right, each layer's dead fraction over time: what a :class:`companion.monitor.ActivationRecorder`
    saw during training."""
    import matplotlib.pyplot as plt
    import numpy as np

    images, table = recorder.layer_images(), recorder.table
    fig, axes = plt.subplots(1, len(images) + 1, figsize=(3.2 * (len(images) + 1), 2.8),
                             constrained_layout=True)
    steps, bins = recorder.steps, recorder.bins
    for k, (ax, image) in enumerate(zip(axes, images), start=1):
        shown = ax.imshow(np.log10(1 + image), origin="lower", aspect="auto", cmap="viridis",
                          extent=(steps[0], steps[-1], bins[0], bins[-1]), interpolation="nearest")
        ax.set(title=f"layer {k}: activations", xlabel="step", ylabel="activation" if k == 1 else None)
        fig.colorbar(shown, ax=ax, label="log10(1 + count)" if k == len(images) else None)
    for layer, rows in table.groupby("layer"):
        axes[-1].plot(rows["step"], rows["dead"], label=f"layer {layer}")
    axes[-1].set(title="dead on the probe", xlabel="step", ylabel="fraction of units", ylim=(0, 1))
    axes[-1].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return fig

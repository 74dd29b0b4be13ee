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

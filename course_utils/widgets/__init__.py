"""Interactive explorers (ipywidgets + matplotlib).

Each explorer is split in two: a pure function that computes what the figure
shows for given control values (unit-tested without a browser), and a thin
widget that calls it when a control changes. Graded exercises are never
re-implemented here: an explorer takes the student's functions as arguments.

Speed (a control change redraws in under 0.3 s, animations at 10 frames per
second): the widget computes once per parameter change, keeps one Figure and
updates its artists (``set_data``), and :class:`LiveFigure` draws only the
artists that changed over a cached background into an ``ipywidgets.Image``
(no figure rebuilt, no Output cleared and displayed again); log axes whose
limits move label their decades in plain text (:func:`fast_log_axis`).

Headless (the autograder, CI, nbconvert: nothing can draw the controls),
:func:`show` draws the static figure for the default control values instead;
whether a front end is attached is decided per cell (:func:`front_end_attached`),
never by the run profile. ``COURSE_WIDGETS=on``/``off`` overrides it.
"""
from __future__ import annotations

import io
import os
from typing import Callable, Iterable

import numpy as np

ENV_VAR = "COURSE_WIDGETS"  # "on" / "off" overrides the automatic choice
# Live figures are drawn at 80 dpi: 0.64 of the pixels of 100 dpi to draw,
# encode and send per frame, still sharp at the notebook's width.
LIVE_DPI = 80


def widgets_enabled() -> bool:
    """True when live widgets make sense: a front end is attached to this
    kernel (JupyterLab, Notebook, VS Code), in every run profile. Headless
    (nbconvert, nbgrader, the course's grader, tests) the static figure is
    drawn instead. ``$COURSE_WIDGETS=on``/``off`` overrides the choice."""
    return widgets_off_reason() is None


def widgets_off_reason() -> str | None:
    """Why live widgets are off, in words, or None when they are on."""
    choice = os.environ.get(ENV_VAR, "").strip().lower()
    if choice in ("on", "off"):
        return None if choice == "on" else f"set by {ENV_VAR}=off, static figures instead"
    if choice:
        raise ValueError(f"{ENV_VAR}={choice!r}: expected 'on', 'off' or unset.")
    kernel = _ipython_kernel()
    if kernel is None:
        return "not in a Jupyter kernel"
    if not front_end_attached(kernel):
        return (f"no front end attached (a headless run), static figures instead; "
                f"{ENV_VAR}=on forces them")
    return None


def _ipython_kernel():
    """The ipykernel Kernel this code runs in, or None (plain Python, pytest)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return getattr(shell, "kernel", None) if shell is not None else None


def front_end_attached(kernel) -> bool:
    """Whether the cell running now was sent by a front end a person uses.
    JupyterLab, Notebook and VS Code send execute requests that allow input
    (``input()`` works there); nbclient, which nbconvert, nbgrader, papermill
    and the grader run notebooks with, turns stdin off. ipykernel keeps the
    current request's flag as ``_allow_stdin``."""
    return bool(getattr(kernel, "_allow_stdin", False))


def show(build_widget: Callable[[], object], draw_static: Callable[[], object]):
    """Display the live widget where possible, else the static figure.

    build_widget: returns an ipywidgets widget (called only when enabled).
    draw_static:  draws the figure for the default control values and returns it.
    Returns whatever was shown.
    """
    if widgets_enabled():
        from IPython.display import display

        widget = build_widget()
        display(widget)
        return widget
    return draw_static()


class LiveFigure:
    """A matplotlib Figure (not registered with pyplot, so ``plt.show()``
    never shows a stale copy) rendered by Agg into an ``ipywidgets.Image``.

    The artists given to :meth:`animate` are left out of the background and
    drawn over it on every :meth:`refresh`. The background is drawn once per
    ``key`` (a value naming what it shows, e.g. the problem and the step
    count: whatever fixes the axes, ticks and static artists) and kept, the
    last ``MAX_BACKGROUNDS`` of them; :meth:`invalidate` forgets them all.
    Without animated artists every refresh draws the whole figure.
    """

    MAX_BACKGROUNDS = 8  # one is a screenful of RGBA, about 1 MB

    def __init__(self, fig, image=None):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self.fig = fig
        self.canvas = FigureCanvasAgg(fig)
        self.image = image
        self.animated: list = []
        self._backgrounds: dict = {}

    def animate(self, artists: Iterable) -> None:
        """Draw these artists over the background from now on (only these:
        artists animated before and not listed again are dropped)."""
        self.animated = list(artists)
        for artist in self.animated:
            artist.set_animated(True)

    def invalidate(self) -> None:
        self._backgrounds.clear()

    def refresh(self, key=None) -> bytes:
        """Draw (the background for ``key`` if it is not kept, then the
        animated artists), put the PNG into the Image widget and return it."""
        background = self._backgrounds.get(key) if self.animated else None
        if background is None:
            self.canvas.draw()
            self._keep(key, self.canvas.copy_from_bbox(self.fig.bbox))
        else:
            self.canvas.restore_region(background)
        for artist in self.animated:
            if artist.get_visible() and (artist.axes is None or artist.axes.get_visible()):
                self.fig.draw_artist(artist)
        png = encode_png(self.canvas)
        if self.image is not None:
            self.image.value = png
        return png

    def _keep(self, key, background) -> None:
        self._backgrounds.pop(key, None)
        self._backgrounds[key] = background
        while len(self._backgrounds) > self.MAX_BACKGROUNDS:
            self._backgrounds.pop(next(iter(self._backgrounds)))  # the oldest


SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def decade_label(value: float, _position=None) -> str:
    """A log axis's tick label as plain text, "10⁻³": matplotlib's default
    labels are mathtext, and parsing each new one took up to 60 ms (a change
    that moved a live figure's limits to new decades spent 0.4 s on them)."""
    exponent = int(round(np.log10(value))) if value > 0 else 0
    return "10" + str(exponent).translate(SUPERSCRIPTS)


def fast_log_axis(axis, numticks: int = 7) -> None:
    """Decade ticks with plain-text labels and no minor tick labels on a log
    ``axis`` (an Axes' ``yaxis`` or ``xaxis``): what a live figure redraws fast."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(numticks=numticks))
    axis.set_major_formatter(FuncFormatter(decade_label))
    axis.set_minor_locator(LogLocator(subs=(), numticks=numticks))  # no minor ticks: text is slow
    axis.set_minor_formatter(NullFormatter())


def encode_png(canvas) -> bytes:
    """The canvas as PNG, with fast compression: a frame must take
    milliseconds, and flat plots compress well even so."""
    from PIL import Image

    width, height = canvas.get_width_height()
    frame = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    out = io.BytesIO()
    frame.save(out, format="png", compress_level=1)
    return out.getvalue()


def image_widget(fig):
    """An ``ipywidgets.Image`` for ``fig``: its natural size, scaled down
    (keeping its proportions) where the notebook is narrower."""
    import ipywidgets as w

    width = int(round(fig.get_size_inches()[0] * fig.dpi))
    return w.Image(format="png", layout=w.Layout(width="100%", max_width=f"{width}px",
                                                 height="auto"))


def explorer_box(controls: dict, rows: Iterable[Iterable[str]], images: list,
                 compute: Callable[[dict], object], show: Callable[[object], None]):
    """The wiring every explorer shares: a change of any control computes the
    state from all the controls' values (``compute``) and shows it (``show``),
    with "computing…" meanwhile; an error (a student's function raising) is
    printed under the controls instead of breaking the widget. ``rows``: the
    controls' names, one sequence per row above the images."""
    import ipywidgets as w

    message = w.HTML()

    def redraw(_change=None):
        message.value = "<i>computing…</i>"
        try:
            state = compute({name: control.value for name, control in controls.items()})
        except Exception as error:  # noqa: BLE001 (show the student's error, keep the widget)
            message.value = f"<b>error:</b> {type(error).__name__}: {error}"
            return None
        show(state)
        message.value = ""
        return state

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    box = w.VBox([*(w.HBox([controls[name] for name in row]) for row in rows), message, *images])
    box.controls, box.redraw = controls, redraw  # for tests and notebooks
    return box

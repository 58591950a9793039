"""matplotlib backend of alpine-kernel cells: figures become display_data events (image/png).

Selected by the runner when a cell imports matplotlib (or explicitly with
MPLBACKEND=module://alpine_kernel_mpl_backend). plt.show() and fig.show() emit figures at once;
the runner emits and closes every figure still open when the cell ends, like Jupyter's inline
backend. Rendering is Agg's.
"""
import io
import sys

from matplotlib._pylab_helpers import Gcf
from matplotlib.backend_bases import FigureManagerBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

try:
    from alpine_kernel_runner_lib import display as _display
except ImportError:  # imported outside a cell runner: figures have nowhere to go
    _display = None


def figure_png(figure):
    """The figure as PNG bytes, cropped like Jupyter's inline figures; None for an empty figure."""
    if not (figure.axes or figure.lines or figure.images or figure.texts or figure.patches):
        return None
    buffer = io.BytesIO()
    figure.canvas.print_figure(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def emit_figure(figure):
    png = figure_png(figure)
    if png is not None and _display is not None:
        _display.publish_display_data({"image/png": png, "text/plain": repr(figure)})


def flush_figures():
    """Emit every open figure, then close them all."""
    try:
        for manager in Gcf.get_all_fig_managers():
            emit_figure(manager.canvas.figure)
    finally:
        Gcf.destroy_all()


class FigureManagerAlpineKernel(FigureManagerBase):
    def show(self):
        emit_figure(self.canvas.figure)


class FigureCanvasAlpineKernel(FigureCanvasAgg):
    manager_class = FigureManagerAlpineKernel


FigureCanvas = FigureCanvasAlpineKernel
FigureManager = FigureManagerAlpineKernel


def new_figure_manager(num, *args, **kwargs):
    figure_class = kwargs.pop("FigureClass", Figure)
    return new_figure_manager_given_figure(num, figure_class(*args, **kwargs))


def new_figure_manager_given_figure(num, figure):
    return FigureManagerAlpineKernel(FigureCanvasAlpineKernel(figure), num)


def draw_if_interactive():
    # Nothing to redraw live: open figures are emitted when the cell ends.
    pass


def show(*args, **kwargs):
    flush_figures()


def _register_figure_formatters():
    """display(fig) shows the PNG, with or without IPython."""
    if _display is not None:
        _display.register_formatter(Figure, "image/png", figure_png)
    try:
        ipython = sys.modules.get("IPython")
        shell = ipython.get_ipython() if ipython is not None else None
        if shell is not None:
            shell.display_formatter.formatters["image/png"].for_type(Figure, figure_png)
    except Exception:
        pass


_register_figure_formatters()

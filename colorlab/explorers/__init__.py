"""The explorers of the notebooks (ipywidgets): a trained network's output, redrawn as a control moves.

- :class:`TemperatureExplorer` (notebook 05, :mod:`colorlab.explorers.temperature`): the annealed
  mean of a classification colorizer at any temperature, one pixel's 313-bin distribution, and the
  colourfulness against T, redrawn from logits computed once.
- :class:`PaletteExplorer` (notebook 06, :mod:`colorlab.explorers.palette`): push a palette-guided
  colorization towards a colour, or edit its palette bin by bin, and watch the colorization follow.
- :func:`photo_at_patch_scale`: an embedded photo at the scale the networks trained on, for either.

Both draw the 313 bins on the ab plane with :func:`colorlab.quantize.bin_cells` and
:func:`colorlab.palette.bin_rgb`, and hand every picture to the front end as PNG bytes
(:func:`colorlab.files.png_bytes`) in an ``ipywidgets.Image``, so they render in any front end and
tests can compare the bytes.
"""

from .palette import PaletteExplorer
from .photos import photo_at_patch_scale
from .temperature import TemperatureExplorer
from .your_photo import YourPhotoColorizer

__all__ = ["PaletteExplorer", "TemperatureExplorer", "YourPhotoColorizer", "photo_at_patch_scale"]

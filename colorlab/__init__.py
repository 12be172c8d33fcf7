"""colorlab: tested building blocks for a course on automatic image colorization.

Data flows one way: ``data`` (photos, patches) -> ``color`` (L and ab) ->
``quantize`` (the 313 bins) -> models and losses -> ``metrics``. ``device``
is used by all.
"""

__version__ = "0.1.0"

from .device import default_device, seed_everything  # noqa: E402,F401

"""taskattr: task-attribution benchmarks (see ``docs/ARCHITECTURE.md``)."""

from benchmarks.common import extras as _extras
from benchmarks.common import pins as _pins

_pins.apply()  # before numpy/torch load anywhere below (see benchmarks/common/pins.py)
_extras.guard_folders()  # the checkout's datasets/ cards are not Hugging Face datasets

"""taskattr: task-attribution benchmarks (see ``docs/ARCHITECTURE.md``)."""

from benchmarks.common import pins as _pins

_pins.apply()  # before numpy/torch load anywhere below (see benchmarks/common/pins.py)

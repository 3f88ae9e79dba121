"""Data sets: the procedurally generated shapes set, and MNIST-format IDX files."""

from .idx import load_idx
from .shapes import SHAPES_CLASSES, ShapesData, shapes

__all__ = ["SHAPES_CLASSES", "ShapesData", "load_idx", "shapes"]

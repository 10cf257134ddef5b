"""The segmentation engine: pure numpy / pandas / scipy / scikit-learn, never Django.

Entry point: :func:`clustering.engine.pipeline.run_segmentation`.
"""

from .pipeline import run_segmentation, validate_params
from .types import (
    InvalidParameters,
    SegmentationCancelled,
    SegmentationParams,
    SegmentationResult,
)

__all__ = [
    "InvalidParameters",
    "SegmentationCancelled",
    "SegmentationParams",
    "SegmentationResult",
    "run_segmentation",
    "validate_params",
]

"""Cloud masking from the Sentinel-2 L2A scene classification (SCL): masked pixels get dataMask 0.

Configured per datasource by `processing.cloudMask` (extension): absent or `true` masks the default classes,
`false` switches masking off, a list of SCL class values masks exactly those.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from workers.errors import InvalidRequestError

SCL_BAND = "SCL"
DEFAULT_CLOUD_CLASSES: tuple[int, ...] = (0, 1, 3, 8, 9, 10)  # no data, defective, shadow, cloud, cirrus
CLOUD_MASK_FIELD = "cloudMask"


def cloud_classes(processing: dict[str, Any] | None) -> tuple[int, ...] | None:
    """The SCL classes to mask for a datasource's `processing` block, or None when masking is off."""
    value = (processing or {}).get(CLOUD_MASK_FIELD, True)
    if value is True or value is None:
        return DEFAULT_CLOUD_CLASSES
    if value is False:
        return None
    if isinstance(value, list) and all(isinstance(v, int) and 0 <= v <= 255 for v in value):
        return tuple(sorted(set(value)))
    raise InvalidRequestError(
        f"processing.{CLOUD_MASK_FIELD} must be true, false or a list of SCL classes, got {value!r}"
    )


def valid_pixels(
    bands: Sequence[np.ndarray], scl: np.ndarray | None, classes: tuple[int, ...] | None
) -> np.ndarray:
    """Boolean mask of usable pixels: every source band holds data (non-zero) and, when masking, the SCL
    class is not one of `classes`."""
    if bands:
        valid = np.logical_and.reduce([b != 0 for b in bands])
    elif scl is not None:
        valid = scl != 0
    else:
        raise ValueError("valid_pixels needs at least one band")
    if scl is not None and classes is not None:
        valid &= ~np.isin(scl, classes)
    return valid

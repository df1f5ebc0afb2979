"""Digital numbers to the units an evalscript asks for (evalscript-v3.md §7.6)."""

from __future__ import annotations

import numpy as np

from evalbatch.profiles import BOA_QUANTIFICATION_VALUE, DN, REFLECTANCE, boa_offset


def convert(
    dn: np.ndarray, units: str, native_units: str, baseline: str | None, harmonize: bool
) -> np.ndarray:
    """float32 values of one band: optical bands (native REFLECTANCE) as REFLECTANCE or DN, with the
    baseline offset removed and negatives clamped at 0 when `harmonize`; other bands unchanged."""
    values = dn.astype(np.float32)
    if native_units != REFLECTANCE:
        return values
    if harmonize and baseline:
        values += np.float32(boa_offset(baseline))
        np.maximum(values, 0, out=values)
    if units.upper() == DN:
        return values
    values /= np.float32(BOA_QUANTIFICATION_VALUE)
    return values

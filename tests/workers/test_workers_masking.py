"""SCL cloud masking, units and harmonisation."""

from __future__ import annotations

import numpy as np
import pytest

from workers.errors import InvalidRequestError
from workers.masking import DEFAULT_CLOUD_CLASSES, cloud_classes, valid_pixels
from workers.units import convert


def test_cloud_mask_configuration():
    assert cloud_classes(None) == DEFAULT_CLOUD_CLASSES == (0, 1, 3, 8, 9, 10)
    assert cloud_classes({"cloudMask": True}) == DEFAULT_CLOUD_CLASSES
    assert cloud_classes({"cloudMask": False}) is None
    assert cloud_classes({"cloudMask": [9, 8, 9]}) == (8, 9)
    with pytest.raises(InvalidRequestError, match="cloudMask"):
        cloud_classes({"cloudMask": "yes"})


def test_valid_pixels_masks_every_default_class_and_nodata():
    scl = np.arange(12, dtype=np.uint8)
    band = np.full(12, 500, np.uint16)
    band[4] = 0  # no data in the band itself
    valid = valid_pixels([band], scl, DEFAULT_CLOUD_CLASSES)
    expected = np.array([c not in (0, 1, 3, 8, 9, 10) for c in range(12)])
    expected[4] = False
    np.testing.assert_array_equal(valid, expected)
    np.testing.assert_array_equal(valid_pixels([band], scl, None), band != 0)


def test_reflectance_harmonisation_per_baseline():
    dn = np.array([0, 500, 1000, 3000], np.uint16)
    new = convert(dn, "REFLECTANCE", "REFLECTANCE", "05.10", harmonize=True)
    np.testing.assert_allclose(new, [0, 0, 0, 0.2])  # offset removed, negatives clamped
    old = convert(dn, "REFLECTANCE", "REFLECTANCE", "03.01", harmonize=True)
    np.testing.assert_allclose(old, [0, 0.05, 0.1, 0.3])
    raw = convert(dn, "REFLECTANCE", "REFLECTANCE", "05.10", harmonize=False)
    np.testing.assert_allclose(raw, [0, 0.05, 0.1, 0.3])
    np.testing.assert_array_equal(convert(dn, "DN", "REFLECTANCE", "05.10", harmonize=True), [0, 0, 0, 2000])
    scl = np.array([4, 9], np.uint8)
    np.testing.assert_array_equal(convert(scl, "DN", "DN", "05.10", harmonize=True), [4, 9])

"""Validation of what setup() returns into InputSpec / OutputSpec lists (spec §2, §9.2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import EvalscriptRuntimeError
from .specs import MOSAICKINGS, SAMPLE_TYPE_DTYPES, InputSpec, OutputSpec

DEFAULT_OUTPUT_ID = "default"
DEFAULT_SAMPLE_TYPE = "AUTO"
DEFAULT_MOSAICKING = "SIMPLE"
# Units a band has when setup() names none (spec §7). Bands not listed keep "DEFAULT": the
# collection's own default unit, which the reader knows and the evaluator does not.
DEFAULT_UNIT = "DEFAULT"
BAND_DEFAULT_UNITS: dict[str, str] = {
    **{band: "REFLECTANCE" for band in (
        "B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12")},
    "SCL": "DN", "CLM": "DN", "CLP": "DN", "dataMask": "DN",
    "SNW": "PERCENT", "CLD": "PERCENT", "AOT": "OPTICAL_DEPTH", "WVP": "DN",
    "sunAzimuthAngles": "DEGREES", "sunZenithAngles": "DEGREES",
    "viewAzimuthMean": "DEGREES", "viewZenithMean": "DEGREES",
}


class EvalscriptSetupError(EvalscriptRuntimeError):
    """setup() returned something that is not a valid input/output declaration."""


@dataclass(frozen=True)
class Declaration:
    """The validated result of setup()."""

    inputs: list[InputSpec]
    outputs: list[OutputSpec]
    mosaicking: str

    @property
    def fusion(self) -> bool:
        """True when inputs name datasources (data fusion, spec §5)."""
        return any(spec.datasource is not None for spec in self.inputs)


def default_unit(band: str) -> str:
    """The unit a band is delivered in when the script asks for none."""
    return BAND_DEFAULT_UNITS.get(band, DEFAULT_UNIT)


def _units(bands: list[str], units: Any) -> dict[str, str]:
    if units is None:
        return {band: default_unit(band) for band in bands}
    if isinstance(units, str):
        return {band: units.upper() for band in bands}
    if isinstance(units, list) and len(units) == len(bands) and all(isinstance(u, str) for u in units):
        return {band: unit.upper() for band, unit in zip(bands, units, strict=True)}
    raise EvalscriptSetupError(f"setup(): 'units' must be a string or one string per band, got {units!r}")


def _band_list(bands: Any) -> list[str]:
    if not isinstance(bands, list) or not all(isinstance(b, str) for b in bands):
        raise EvalscriptSetupError(f"setup(): input 'bands' must be a list of band names, got {bands!r}")
    return list(bands)


def _mosaicking(value: Any, where: str) -> str:
    if not isinstance(value, str) or value.upper() not in MOSAICKINGS:
        raise EvalscriptSetupError(f"setup(): {where} must be one of {', '.join(MOSAICKINGS)}, got {value!r}")
    return value.upper()


def _inputs(raw: Any) -> list[InputSpec]:
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise EvalscriptSetupError(f"setup(): 'input' must be a non-empty list, got {raw!r}")
    specs: list[InputSpec] = []
    loose_bands = [item for item in raw if isinstance(item, str)]
    if loose_bands:
        specs.append(InputSpec(bands=loose_bands, units=_units(loose_bands, None)))
    for item in raw:
        if isinstance(item, str):
            continue
        if not isinstance(item, dict):
            raise EvalscriptSetupError(f"setup(): input entries must be band names or objects, got {item!r}")
        bands = _band_list(item.get("bands"))
        datasource = item.get("datasource")
        if datasource is not None and not isinstance(datasource, str):
            raise EvalscriptSetupError(f"setup(): 'datasource' must be a string, got {datasource!r}")
        mosaicking = item.get("mosaicking")
        specs.append(InputSpec(
            bands=bands,
            units=_units(bands, item.get("units")),
            datasource=datasource,
            mosaicking=None if mosaicking is None else _mosaicking(mosaicking, "input 'mosaicking'"),
        ))
    if any(spec.datasource is not None for spec in specs):
        # Data fusion: inputs without a datasource are keyed by their position (spec §5).
        specs = [spec if spec.datasource is not None else
                 InputSpec(spec.bands, spec.units, str(position), spec.mosaicking)
                 for position, spec in enumerate(specs)]
    return specs


def _band_count(value: Any, output_id: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value) or value < 0:
        raise EvalscriptSetupError(f"output '{output_id}': 'bands' must be an integer >= 0, got {value!r}")
    return int(value)


def _outputs(raw: Any) -> list[OutputSpec]:
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise EvalscriptSetupError(f"setup(): 'output' must be an object or a non-empty list, got {raw!r}")
    outputs: list[OutputSpec] = []
    for item in raw:
        if not isinstance(item, dict):
            raise EvalscriptSetupError(f"setup(): output entries must be objects, got {item!r}")
        output_id = item.get("id", DEFAULT_OUTPUT_ID)
        if not isinstance(output_id, str) or not output_id:
            raise EvalscriptSetupError(f"setup(): output 'id' must be a non-empty string, got {output_id!r}")
        sample_type = item.get("sampleType", DEFAULT_SAMPLE_TYPE)
        if not isinstance(sample_type, str) or sample_type.upper() not in SAMPLE_TYPE_DTYPES:
            raise EvalscriptSetupError(
                f"output '{output_id}': unknown sampleType {sample_type!r} "
                f"(one of {', '.join(SAMPLE_TYPE_DTYPES)})")
        nodata = item.get("nodataValue")
        if nodata is not None and (isinstance(nodata, bool) or not isinstance(nodata, int | float)):
            raise EvalscriptSetupError(f"output '{output_id}': 'nodataValue' must be a number, got {nodata!r}")
        outputs.append(OutputSpec(
            id=output_id,
            bands=_band_count(item.get("bands"), output_id),
            sample_type=sample_type.upper(),
            nodata=None if nodata is None else float(nodata),
        ))
    ids = [out.id for out in outputs]
    if len(set(ids)) != len(ids):
        raise EvalscriptSetupError(f"setup(): duplicate output ids in {ids}")
    return outputs


def parse_declaration(raw: Any) -> Declaration:
    """Validate the JSON form of a V3 ``setup()`` result."""
    if not isinstance(raw, dict):
        raise EvalscriptSetupError(f"setup() must return an object with 'input' and 'output', got {raw!r}")
    if "input" not in raw or "output" not in raw:
        raise EvalscriptSetupError("setup() must return an object with 'input' and 'output'")
    mosaicking = raw.get("mosaicking")
    return Declaration(
        inputs=_inputs(raw["input"]),
        outputs=_outputs(raw["output"]),
        mosaicking=DEFAULT_MOSAICKING if mosaicking is None else _mosaicking(mosaicking, "'mosaicking'"),
    )


def legacy_declaration(returned: Any, components: list[str] | None, output_count: Any,
                       mosaicking: str) -> Declaration:
    """Declaration of a V1/V2 ``setup(ds)`` script (spec §9.2).

    Either setup(ds) returned ``{components, output, normalization}`` (V2) or it called
    ``setInputComponents`` / ``setOutputComponentCount``. ``normalization: false`` means DN units.
    """
    if isinstance(returned, dict) and "components" in returned:
        bands = _band_list(returned["components"])
        units = "DN" if returned.get("normalization") is False else None
        raw_outputs = returned.get("output", {"bands": len(bands)})
        if isinstance(raw_outputs, dict):
            raw_outputs = [raw_outputs]
        if not isinstance(raw_outputs, list):
            raise EvalscriptSetupError(f"setup(ds): 'output' must be a list, got {raw_outputs!r}")
        outputs = _outputs([
            {**item, "bands": item.get("componentCount", item.get("bands"))} if isinstance(item, dict) else item
            for item in raw_outputs
        ])
        return Declaration([InputSpec(bands, _units(bands, units))], outputs, mosaicking)
    if components is None or output_count is None:
        raise EvalscriptSetupError(
            "setup(ds) must return {components, output} or call setInputComponents() and "
            "setOutputComponentCount()")
    bands = _band_list(components)
    outputs = [OutputSpec(DEFAULT_OUTPUT_ID, _band_count(output_count, DEFAULT_OUTPUT_ID), DEFAULT_SAMPLE_TYPE)]
    return Declaration([InputSpec(bands, _units(bands, None))], outputs, mosaicking)

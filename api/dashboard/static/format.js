// Text for the values the API returns: numbers with units, byte sizes, timestamps, tile progress.

const MISSING = "—";
const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

export function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return MISSING;
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit ? 1 : 0)} ${BYTE_UNITS[unit]}`;
}

export function formatNumber(value, suffix = "") {
  return value === null || value === undefined ? MISSING : `${Number(value).toLocaleString()}${suffix}`;
}

export function formatTime(value) {
  return value ? new Date(value).toLocaleString() : MISSING;
}

export function orMissing(value) {
  return value === null || value === undefined || value === "" ? MISSING : value;
}

/** Tiles of a v1 request object that are final (PROCESSED or FAILED), from the `tileStatusCounts` extension. */
export function finishedTiles(request) {
  const counts = request.tileStatusCounts || {};
  return (counts.PROCESSED || 0) + (counts.FAILED || 0);
}

/** Our `estimate` extension when the analysis made one, else the upstream-style `valueEstimate`. */
export function estimateText(request) {
  const pu = request.estimate ? request.estimate.processingUnits : request.valueEstimate;
  return formatNumber(pu, " PU");
}

"""A minimal GeoPackage writer on sqlite3 (OGC 12-128r18): polygon feature tables, one per CRS."""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

APPLICATION_ID = 0x47504B47  # "GPKG"
USER_VERSION = 10300  # GeoPackage 1.3.0
_ENVELOPE_XY = 1
_LITTLE_ENDIAN = 1

_CORE_TABLES = """
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE, description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE,
  srs_id INTEGER, CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name));
INSERT INTO gpkg_spatial_ref_sys VALUES
  ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
  ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system');
"""


@dataclass(frozen=True)
class Column:
    """A non-geometry attribute column."""

    name: str
    sql_type: str


def geometry_blob(geometry: BaseGeometry, srs_id: int) -> bytes:
    """A GeoPackage geometry: the `GP` header with an XY envelope, then ISO WKB."""
    minx, miny, maxx, maxy = geometry.bounds
    flags = (_ENVELOPE_XY << 1) | _LITTLE_ENDIAN
    header = struct.pack("<2sBBi4d", b"GP", 0, flags, srs_id, minx, maxx, miny, maxy)
    return header + shapely.to_wkb(geometry, byte_order=1)


def write_geopackage(
    path: Path, tables: dict[int, list[dict[str, Any]]], columns: Iterable[Column], table_prefix: str = "feature_"
) -> None:
    """Write `tables` (EPSG code -> rows with a shapely `geometry` and the `columns`) to a new GeoPackage."""
    columns = list(columns)
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    try:
        con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        con.execute(f"PRAGMA user_version = {USER_VERSION}")
        con.executescript(_CORE_TABLES)
        for epsg, rows in sorted(tables.items()):
            crs = CRS.from_epsg(epsg)
            con.execute(
                "INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, 'EPSG', ?, ?, NULL)",
                (crs.name, epsg, epsg, crs.to_wkt()),
            )
            table = f"{table_prefix}{epsg}"
            column_sql = ", ".join(f'"{c.name}" {c.sql_type}' for c in columns)
            con.execute(
                f'CREATE TABLE "{table}" (fid INTEGER PRIMARY KEY AUTOINCREMENT, {column_sql}, geometry GEOMETRY)'
            )
            bounds = shapely.total_bounds([r["geometry"] for r in rows]) if rows else [None] * 4
            con.execute(
                "INSERT INTO gpkg_contents (table_name, data_type, identifier, min_x, min_y, max_x, max_y, srs_id)"
                " VALUES (?, 'features', ?, ?, ?, ?, ?, ?)",
                (table, table, *(None if v is None else float(v) for v in bounds), epsg),
            )
            con.execute(
                "INSERT INTO gpkg_geometry_columns VALUES (?, 'geometry', 'POLYGON', ?, 0, 0)", (table, epsg)
            )
            placeholders = ", ".join("?" for _ in range(len(columns) + 1))
            names = ", ".join(f'"{c.name}"' for c in columns)
            con.executemany(
                f'INSERT INTO "{table}" ({names}, geometry) VALUES ({placeholders})',
                [[r[c.name] for c in columns] + [geometry_blob(r["geometry"], epsg)] for r in rows],
            )
        con.commit()
    finally:
        con.close()

// The tile map: WGS84 footprints drawn as SVG paths, coloured by status through status.css, and the AOI.
// Longitudes and latitudes are projected linearly: x = lon * cos(mid latitude), y = -lat, so cells stay
// roughly square at any latitude; the viewBox is fitted to the tiles.

const SVG_NS = "http://www.w3.org/2000/svg";
const MARGIN = 0.03; // share of the extent left around the tiles
const LON_LAT_CRS = ["/OGC/1.3/CRS84", "/EPSG/0/4326"]; // CRS URLs whose coordinates are lon/lat

/** Exterior and interior rings of a GeoJSON Polygon or MultiPolygon. */
function rings(geometry) {
  if (!geometry) return [];
  if (geometry.type === "Polygon") return geometry.coordinates;
  if (geometry.type === "MultiPolygon") return geometry.coordinates.flat();
  return [];
}

function extent(geometries) {
  const box = { west: Infinity, south: Infinity, east: -Infinity, north: -Infinity };
  for (const geometry of geometries) {
    for (const ring of rings(geometry)) {
      for (const [lon, lat] of ring) {
        box.west = Math.min(box.west, lon);
        box.east = Math.max(box.east, lon);
        box.south = Math.min(box.south, lat);
        box.north = Math.max(box.north, lat);
      }
    }
  }
  return box;
}

function pathData(geometry, xScale) {
  return rings(geometry)
    .map((ring) => "M" + ring.map(([lon, lat]) => `${(lon * xScale).toFixed(6)},${(-lat).toFixed(6)}`).join("L") + "Z")
    .join("");
}

function tileLabel(tile) {
  return `Tile ${tile.name || tile.id}: ${tile.status}`;
}

/** The AOI of a v1 request as a lon/lat GeoJSON geometry, or null when its CRS is not lon/lat. */
export function requestAoi(request) {
  const bounds = (((request.processRequest || {}).input || {}).bounds) || {};
  const crs = ((bounds.properties || {}).crs || "").toUpperCase();
  if (!LON_LAT_CRS.some((suffix) => crs.endsWith(suffix))) return null;
  if (bounds.geometry) return bounds.geometry;
  if (!bounds.bbox) return null;
  const [west, south, east, north] = bounds.bbox;
  return { type: "Polygon", coordinates: [[[west, south], [east, south], [east, north], [west, north], [west, south]]] };
}

function svgElement(name, attributes) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  return node;
}

/** Draws tiles (and the AOI outline) into one <svg>; `update` only changes statuses while the tiles stay the same. */
export class TileMap {
  constructor(svg, onSelect) {
    this.svg = svg;
    this.onSelect = onSelect;
    this.paths = new Map(); // tile id -> <path>
    this.selected = null;
    this.aoiKey = "null";
  }

  update(tiles, aoi = null) {
    const sameTiles = tiles.length === this.paths.size && tiles.every((t) => this.paths.has(t.id));
    const aoiKey = JSON.stringify(aoi);
    if (!sameTiles || aoiKey !== this.aoiKey) this.draw(tiles, aoi);
    this.aoiKey = aoiKey;
    for (const tile of tiles) {
      const path = this.paths.get(tile.id);
      path.dataset.status = tile.status;
      path.setAttribute("aria-label", tileLabel(tile));
      path.firstChild.textContent = tileLabel(tile);
    }
  }

  draw(tiles, aoi = null) {
    this.svg.replaceChildren();
    this.paths.clear();
    const geometries = [...tiles.map((tile) => tile.geometry), ...(aoi ? [aoi] : [])];
    if (!geometries.length) {
      this.svg.removeAttribute("viewBox");
      return;
    }
    const box = extent(geometries);
    const xScale = Math.cos((((box.north + box.south) / 2) * Math.PI) / 180);
    const width = Math.max((box.east - box.west) * xScale, 1e-9);
    const height = Math.max(box.north - box.south, 1e-9);
    const margin = MARGIN * Math.max(width, height);
    const viewBox = [box.west * xScale - margin, -box.north - margin, width + 2 * margin, height + 2 * margin];
    this.svg.setAttribute("viewBox", viewBox.join(" "));
    this.svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
    for (const tile of tiles) {
      const path = svgElement("path", {
        d: pathData(tile.geometry, xScale),
        class: "tile",
        "vector-effect": "non-scaling-stroke",
        role: "button",
        tabindex: "0",
        "data-tile-id": String(tile.id),
      });
      path.appendChild(document.createElementNS(SVG_NS, "title"));
      path.addEventListener("click", () => this.select(tile.id));
      path.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          this.select(tile.id);
        }
      });
      this.svg.appendChild(path);
      this.paths.set(tile.id, path);
    }
    if (aoi) {
      const outline = { d: pathData(aoi, xScale), class: "aoi", "vector-effect": "non-scaling-stroke" };
      this.svg.appendChild(svgElement("path", outline));
    }
    if (this.selected !== null && this.paths.has(this.selected)) this.highlight(this.selected);
  }

  clear() {
    this.selected = null;
    this.aoiKey = "null";
    this.draw([]);
  }

  select(tileId) {
    this.highlight(tileId);
    this.onSelect(tileId);
  }

  highlight(tileId) {
    for (const path of this.paths.values()) path.classList.remove("selected");
    this.selected = tileId;
    const path = this.paths.get(tileId);
    if (path) {
      path.classList.add("selected");
      this.svg.insertBefore(path, this.svg.querySelector(".aoi")); // above the other tiles, below the AOI
    }
  }
}

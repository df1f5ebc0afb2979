// The dashboard: log in, list the account's v1 requests, and watch one request's tiles on a live map.
// Views are chosen by the URL hash: "#/" is the list, "#/requests/<id>" a request. Both poll the API.

import * as api from "./api.js";
import { estimateText, finishedTiles, formatBytes, formatNumber, formatTime, orMissing } from "./format.js";
import { TileMap, requestAoi } from "./map.js";

const $ = (id) => document.getElementById(id);
const VIEWS = ["login-view", "list-view", "request-view"];
const TILES_EVERY_N_POLLS = 5; // tiles are re-read when the counts change, and at least this often

let config = { statusColours: {}, pollIntervalMs: 2000 }; // replaced by dashboard/config.json
let timer = null;
let generation = 0; // bumped on every navigation: answers for an older view are dropped
let tiles = [];
let tilesKey = null; // status and tile counts when `tiles` was read
let pollsSinceTiles = 0;
let selectedTile = null;
const tileMap = new TileMap($("tile-map"), (tileId) => {
  selectedTile = tileId;
  showTileDetails();
});

// --- DOM helpers -----------------------------------------------------------------------------------

function element(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

function fillFacts(list, facts) {
  list.replaceChildren(
    ...facts.flatMap(([term, value]) => {
      const description = element("dd");
      description.append(value instanceof Node ? value : String(orMissing(value)));
      return [element("dt", term), description];
    }),
  );
}

function notify(message) {
  $("notice").textContent = message;
  $("notice").hidden = !message;
}

function pollStatus(message) {
  $("poll-status").textContent = message;
  $("poll-status").hidden = !message;
}

function show(view) {
  for (const id of VIEWS) $(id).hidden = id !== view;
  $("logout").hidden = view === "login-view";
}

function needsLogin(error) {
  if (!(error instanceof api.ApiError && error.status === 401)) return false;
  notify("Please log in (the session expired or the credentials were refused).");
  show("login-view");
  return true;
}

// --- the request list ------------------------------------------------------------------------------

function progressCell(request) {
  const cell = element("td");
  const done = finishedTiles(request);
  const bar = element("progress", undefined, {
    max: String(Math.max(request.tileCount, 1)),
    value: String(done),
    "aria-label": `${done} of ${request.tileCount} tiles finished`,
  });
  const failed = (request.tileStatusCounts || {}).FAILED || 0;
  cell.append(bar, ` ${done}/${request.tileCount}${failed ? ` (${failed} failed)` : ""}`);
  return cell;
}

function requestRow(request) {
  const row = element("tr", undefined, { "data-request-id": request.id });
  const name = element("td");
  name.append(element("a", request.description || request.id, { href: `#/requests/${request.id}` }));
  row.append(
    name,
    element("td", request.status, { class: "status" }),
    progressCell(request),
    element("td", estimateText(request)),
    element("td", formatTime(request.created)),
  );
  return row;
}

async function readList() {
  const requests = await api.listRequests();
  return () => {
    $("request-rows").replaceChildren(...requests.map(requestRow));
    $("no-requests").hidden = requests.length > 0;
    show("list-view");
  };
}

// --- one request -----------------------------------------------------------------------------------

function renderRequest(request) {
  $("request-title").textContent = request.description || `Request ${request.id}`;
  fillFacts($("request-facts"), [
    ["Id", request.id],
    ["Status", request.status],
    ["Last action", request.userAction],
    ["Tiles", `${finishedTiles(request)} of ${request.tileCount} finished`],
    ["Estimate", estimateText(request)],
    ["Cost so far", formatNumber(request.costPU, " PU")],
    ["Created", formatTime(request.created)],
    ["Error", request.error],
  ]);
  $("request-facts").dataset.status = request.status;
  const counts = request.tileStatusCounts || {};
  const legend = Object.keys(config.statusColours).map((status) => {
    const item = element("li");
    item.append(element("span", undefined, { class: "swatch", "data-status": status }), ` ${status} ${counts[status] || 0}`);
    return item;
  });
  $("legend").replaceChildren(...legend);
}

function outputList(outputs) {
  const entries = Array.isArray(outputs) ? outputs.map((url, i) => [String(i), url]) : Object.entries(outputs || {});
  if (!entries.length) return null;
  const list = element("ul", undefined, { class: "outputs" });
  for (const [identifier, url] of entries) {
    const item = element("li", `${identifier}: `);
    item.append(/^https?:\/\//.test(url) ? element("a", url, { href: url }) : element("code", url));
    list.append(item);
  }
  return list;
}

function showTileDetails() {
  const tile = tiles.find((t) => t.id === selectedTile);
  $("tile-hint").hidden = Boolean(tile);
  if (!tile) {
    $("tile-facts").replaceChildren();
    return;
  }
  fillFacts($("tile-facts"), [
    ["Name", tile.name],
    ["Id", tile.id],
    ["Status", tile.status],
    ["Attempts", formatNumber(tile.attempts)],
    ["Seconds", formatNumber(tile.seconds, " s")],
    ["Peak memory", formatBytes(tile.peakMemoryBytes)],
    ["Cost", formatNumber(tile.cost, " PU")],
    ["Error", tile.error],
    ["Outputs", outputList(tile.outputs)],
  ]);
}

async function readRequest(requestId) {
  const request = await api.getRequest(requestId);
  const key = JSON.stringify([request.status, request.tileStatusCounts]);
  const stale = key !== tilesKey || pollsSinceTiles + 1 >= TILES_EVERY_N_POLLS;
  const requestTiles = stale ? await api.listTiles(requestId) : null;
  return () => {
    renderRequest(request);
    if (requestTiles) {
      tiles = requestTiles;
      tilesKey = key;
      pollsSinceTiles = 0;
    } else {
      pollsSinceTiles += 1;
    }
    tileMap.update(tiles, requestAoi(request));
    $("no-tiles").hidden = tiles.length > 0;
    showTileDetails();
    show("request-view");
  };
}

async function runAction(button) {
  button.disabled = true;
  try {
    await api.act(currentRequestId(), button.dataset.action);
    notify("");
    tilesKey = null; // the action may change tiles (restart): read them again
    await refresh();
  } catch (error) {
    if (!needsLogin(error)) notify(error.message);
  } finally {
    button.disabled = false;
  }
}

// --- navigation and polling ------------------------------------------------------------------------

function currentRequestId() {
  const match = location.hash.match(/^#\/requests\/(.+)$/);
  return match ? decodeURIComponent(match[1]) : null;
}

/** Read the current view from the API and paint it, then poll again. */
async function refresh() {
  clearTimeout(timer);
  if (!api.hasToken()) {
    show("login-view");
    return;
  }
  const mine = generation;
  const requestId = currentRequestId();
  try {
    const paint = requestId ? await readRequest(requestId) : await readList();
    if (mine !== generation) return;
    paint();
    pollStatus("");
  } catch (error) {
    if (mine !== generation || needsLogin(error)) return;
    pollStatus(`Live updates paused: ${error.message} (retrying)`);
  }
  if (mine === generation && api.hasToken()) {
    clearTimeout(timer); // another refresh (after an action) may have finished meanwhile
    timer = setTimeout(refresh, config.pollIntervalMs);
  }
}

function navigate() {
  generation += 1;
  notify("");
  pollStatus("");
  selectedTile = null;
  tiles = [];
  tilesKey = null;
  tileMap.clear();
  showTileDetails();
  refresh();
}

async function loadConfig() {
  const response = await fetch("dashboard/config.json");
  if (response.ok) config = await response.json();
}

function start() {
  // listeners first: the form must never fall back to a native submit while the config loads
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api.logIn($("client-id").value.trim(), $("client-secret").value);
      $("client-secret").value = "";
      notify("");
      navigate();
    } catch (error) {
      notify(`Login failed: ${error.message}`);
    }
  });
  $("logout").addEventListener("click", () => {
    api.logOut();
    navigate();
  });
  for (const button of document.querySelectorAll("[data-action]")) {
    button.addEventListener("click", () => runAction(button));
  }
  window.addEventListener("hashchange", navigate);
  loadConfig().finally(navigate);
}

start();

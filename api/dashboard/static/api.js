// The Batch API seen from the page: log in, keep the token in sessionStorage, call /api/v1/batch.
// URLs are relative to the page (/dashboard), so the dashboard also works behind a path prefix.

const TOKEN_KEY = "evalbatch.token";
const BATCH = "api/v1/batch";
const PAGE_SIZE = 100;

/** An error answered by the API, carrying its message (batch-api.md §2.2) and HTTP status. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function hasToken() {
  return sessionStorage.getItem(TOKEN_KEY) !== null;
}

export function logOut() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** Exchange client credentials for an access token (POST /oauth/token) and keep it for the session. */
export async function logIn(clientId, clientSecret) {
  const form = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: clientId,
    client_secret: clientSecret,
  });
  // credentials "omit": the 401 of a refused secret carries a Basic challenge, which must not open a browser prompt
  const response = await fetch("oauth/token", { method: "POST", body: form, credentials: "omit" });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new ApiError(response.status, body.error_description || body.error || `HTTP ${response.status}`);
  }
  sessionStorage.setItem(TOKEN_KEY, body.access_token);
}

async function errorMessage(response) {
  const text = await response.text();
  try {
    const error = JSON.parse(text).error;
    if (typeof error === "string") return error;
    if (error && error.message) return error.message;
  } catch {
    // not JSON: fall through to the raw text
  }
  return text || `HTTP ${response.status}`;
}

/** One call to /api/v1/batch; resolves to the JSON body (null when empty), rejects with ApiError. */
export async function call(method, path, params) {
  const query = params ? `?${new URLSearchParams(params)}` : "";
  const headers = { Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY)}` };
  if (method !== "GET") headers["Content-Type"] = "application/json";
  const response = await fetch(`${BATCH}${path}${query}`, { method, headers, credentials: "omit" });
  if (response.status === 401) logOut();
  if (!response.ok) throw new ApiError(response.status, await errorMessage(response));
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

/** Every item of a paged list endpoint, following links.nextToken. */
export async function all(path, params = {}) {
  const items = [];
  let token = null;
  do {
    const query = { ...params, count: PAGE_SIZE, ...(token ? { viewtoken: token } : {}) };
    const page = await call("GET", path, query);
    items.push(...page.data);
    token = page.data.length ? page.links && page.links.nextToken : null;
  } while (token);
  return items;
}

export const listRequests = () => all("/process", { sort: "created:desc" });
export const getRequest = (id) => call("GET", `/process/${encodeURIComponent(id)}`);
export const listTiles = (id) => all(`/process/${encodeURIComponent(id)}/tiles`);
export const act = (id, action) => call("POST", `/process/${encodeURIComponent(id)}/${action}`);

"""The web dashboard: a single-page app (plain HTML, CSS and JavaScript) served under `/dashboard`.

The page talks to the public API only (token endpoint, `/api/v1/batch/...`) with the token the user obtains
by logging in; the routes here serve files and the tile-status colours, nothing that needs authentication.
Include it with `app.include_router(api.dashboard.router)`.
"""

from api.dashboard.routes import router

__all__ = ["router"]

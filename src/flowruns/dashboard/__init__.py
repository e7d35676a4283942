"""The dashboard: a browser application served at ``/`` that reads runs through the public API.

It is plain HTML, CSS and JavaScript modules in ``static/`` (no build step); the server only
hands out those files. Everything the pages show comes from requests under ``/beta`` that the
browser makes with the token the user signed in with.
"""

from flowruns.dashboard.routes import routes

__all__ = ["routes"]

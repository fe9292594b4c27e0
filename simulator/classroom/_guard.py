"""Who may use the classroom server: pages on its own origin, opened by its own address, up to a number of tabs.

The server listens on 127.0.0.1 only, but any web page a student opens can make their browser send requests
there (`fetch(..., {mode: "no-cors"})`, an <img>, a link, DNS rebinding). Each GET of the page builds a full
session (about 0.9 s of the one event loop and 1.7 MB), so 200 such requests kept a lecture's server busy
for minutes. Every HTTP request to a page, a script or the websocket passes `Guard.user` first (Bokeh's
auth hook, before any session exists): the Host must be the server's own address, an Origin (sent with
cross-origin and websocket requests) must be its own origin, and the browser's `Sec-Fetch-Site` must say
the request came from the page itself or from the address bar ("same-origin" or "none"). Refused requests
are redirected to a 403 page that costs nothing. Live sessions are capped (MAX_APP_SESSIONS): the server
only listens on loopback, so every client has the same address and the cap per client is the total.
"""

from __future__ import annotations

from .._limits import MAX_APP_SESSIONS

REFUSED_PATH = "/refused"
ALLOWED_FETCH_SITES = {"same-origin", "none"}


class Guard:
    """Bokeh AuthProvider: `user(handler)` is 'student' for a request the server should serve, None to refuse it."""

    def __init__(self, port: int):
        self.hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
        self.origins = {f"http://{h}" for h in self.hosts}
        self.sessions = lambda: 0  # live sessions; set once the server exists

    def why_refused(self, headers, path: str) -> str | None:
        """The reason to refuse a request with these headers, or None."""
        if headers.get("Host", "") not in self.hosts:
            return "host"
        origin = headers.get("Origin")
        if origin is not None and origin not in self.origins:
            return "origin"
        if headers.get("Sec-Fetch-Site", "none") not in ALLOWED_FETCH_SITES:
            return "cross-site"
        if path in ("", "/") and self.sessions() >= MAX_APP_SESSIONS:
            return "sessions"
        return None

    def user(self, handler) -> str | None:
        """For Bokeh: a name for a request to serve (a tornado RequestHandler), None to refuse it."""
        return None if self.why_refused(handler.request.headers, handler.request.path) else "student"

    def provider(self):
        """The Bokeh auth provider that asks this guard, with the 403 page refused requests are sent to."""
        from bokeh.server.auth_provider import AuthProvider
        from tornado.web import RequestHandler

        guard = self

        class Refused(RequestHandler):
            def get(self) -> None:
                self.set_status(403)
                self.set_header("Content-Type", "text/plain; charset=utf-8")
                self.finish("plasticity app: request refused (open the app from its own address, in one of at most "
                            f"{MAX_APP_SESSIONS} tabs)\n")

        class _Provider(AuthProvider):
            @property
            def get_user(self):
                return guard.user

            @property
            def login_url(self) -> str:
                return REFUSED_PATH

            @property
            def login_handler(self):
                return Refused

        return _Provider()

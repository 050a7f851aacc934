"""Logging in and out, and the static files of the pages."""

from __future__ import annotations

from werkzeug.wrappers import Response

from services.gateway.console.web import HERE, HOME_OF_ROLE, Session, page
from services.gateway.web_safety import cross_site, local_target

STATIC = {"console.css": "text/css", "console.js": "text/javascript"}
ANY_ROLE = tuple(HOME_OF_ROLE)
CROSS_SITE = ["This sign-in form was sent from another site, so it was not used.",
              "Open the console's own address and sign in there."]  # fmt: skip
WRONG = "Check the user name, the password and the 6-digit code (each code works once)."
NEW_ACCOUNT = "A new account needs its second factor enrolled by an administrator first."


class AuthPages:
    @page("/login")
    def login_form(self, s: Session) -> Response:
        if s.principal is not None:
            return self.start_session(s.token, HOME_OF_ROLE[s.role])  # type: ignore[attr-defined]
        # A target that is not a path of this site is dropped here already, not only after.
        target = local_target(s.request.args.get("next", "")) or ""
        return s.render("login.html", next=target, username="")

    @page("/login", "POST")
    def login(self, s: Session) -> Response:
        if cross_site(s.request):  # login CSRF: the victim would work in someone's session
            return s.render("login.html", status=403, errors=CROSS_SITE, next="", username="")
        body = {"username": s.form("username"), "password": s.request.form.get("password", ""),
                "totp": s.form("totp") or None}  # fmt: skip
        status, answer = s.api_status("POST", "/api/v1/login", body)
        if status != 200:
            message = answer.get("message", "login failed") if isinstance(answer, dict) else ""
            sentences = [message[:1].upper() + message[1:] + "."]
            if status == 401:
                sentences += [WRONG, NEW_ACCOUNT]
            return s.render(
                "login.html", status=status, errors=sentences,
                next=local_target(s.form("next")) or "", username=body["username"],
            )  # fmt: skip
        target = local_target(s.form("next")) or HOME_OF_ROLE[answer["role"]]
        return self.start_session(answer["token"], target)  # type: ignore[attr-defined]

    @page("/portal/login", "POST")
    def portal_login(self, s: Session) -> Response:
        if cross_site(s.request):
            return s.render("login.html", status=403, errors=CROSS_SITE, next="", username="")
        token = s.form("token")
        principal = s.backends.identity.authenticate(token) if token else None
        if principal is None or principal.role != "isp":
            return s.render(
                "login.html", status=401, next="", username="",
                errors=["That access token is not valid (or no longer).",
                        "Ask the 24/7 point of contact for a new one."],
            )  # fmt: skip
        return self.start_session(token, "/portal")  # type: ignore[attr-defined]

    @page("/logout", "POST", ANY_ROLE)
    def logout(self, s: Session) -> Response:
        if s.role != "isp":  # a provider's token is its integration's: not ended here
            s.api_status("POST", "/api/v1/logout")
        return self.end_session()  # type: ignore[attr-defined]

    @page("/static/<name>")
    def static(self, s: Session, name: str) -> Response:
        if name not in STATIC:
            return s.render("error.html", status=404, sentences=["There is no such file."])
        body = (HERE / "static" / name).read_bytes()
        response = Response(body, mimetype=STATIC[name])
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

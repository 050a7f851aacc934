"""The admins' page of accounts: who may sign in, with what, and when each last did; and the
two buttons a leaver or a stolen laptop needs (disable; end every session and token)."""

from __future__ import annotations

from werkzeug.wrappers import Response

from services.gateway.console.web import Session, page, see_other

ADMIN = ("admin",)
ACTIONS = ("disable", "enable", "revoke-tokens")


class AccountPages:
    @page("/oversight/accounts", "GET", ADMIN)
    def accounts(self, s: Session) -> Response:
        users = s.api("GET", "/api/v1/admin/users")["users"]
        return s.render("accounts.html", users=users)

    @page("/oversight/accounts/<username>/<action>", "POST", ADMIN)
    def account_action(self, s: Session, username: str, action: str) -> Response:
        if action not in ACTIONS:
            return s.render("error.html", status=404, sentences=["There is no such action."])
        s.api("POST", f"/api/v1/admin/users/{username}/{action}")
        return see_other("/oversight/accounts", f"account-{action}")

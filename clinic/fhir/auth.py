"""Bearer-token authentication of the FHIR API (RFC 6750). The API never uses the session
cookie: a browser signed in to the staff pages gets 401 here without a token."""

import re

from clinic.fhir import services
from clinic.fhir.models import ApiToken

REALM = "Kestrel FHIR API"
MAX_TOKEN_LENGTH = 200
BEARER = re.compile(r"Bearer +([A-Za-z0-9\-._~+/]+=*) *", re.IGNORECASE)


class AuthenticationFailed(Exception):
    def __init__(self, message, *, token_given):
        super().__init__(message)
        self.token_given = token_given

    @property
    def challenge(self):
        if not self.token_given:
            return f'Bearer realm="{REALM}"'
        return f'Bearer realm="{REALM}", error="invalid_token", error_description="{self}"'


def authenticate(request):
    """The active user behind the request's bearer token; raises AuthenticationFailed."""
    header = request.headers.get("Authorization", "")
    if not header:
        raise AuthenticationFailed("This API needs an API token.", token_given=False)
    match = BEARER.fullmatch(header)
    if match is None or len(match.group(1)) > MAX_TOKEN_LENGTH:
        raise AuthenticationFailed(
            "Send the token as: Authorization: Bearer <token>.", token_given=True
        )
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=services.hash_secret(match.group(1)))
        .first()
    )
    if token is None or token.revoked_at is not None or not token.user.is_active:
        raise AuthenticationFailed("The token is unknown or revoked.", token_given=True)
    services.token_mark_used(token)
    return token.user

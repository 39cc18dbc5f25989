"""API token issue and revocation, each with its audit row in the same transaction.

Only the token's prefix (the first characters, also shown on the profile page) goes into the audit
log: the raw key is shown once to its owner and never stored anywhere.
"""

from django.db import transaction

from .audit import audit_log
from .choices import AuditAction
from .models import ApiToken

RECORD_TYPE = "core.apitoken"


def _audit(*, actor, action, token, via):
    audit_log(actor=actor, action=action, record_type=RECORD_TYPE, record_id=token.pk, label=str(token),
              data={"name": token.name, "prefix": token.prefix, "user": token.user.get_username(), "via": via})


def api_token_create(*, actor, user, name, via="ui"):
    """Issue a token for `user`; returns (token, raw key). `actor` is None for the command line."""
    with transaction.atomic():
        token, raw = ApiToken.issue(user=user, name=name)
        _audit(actor=actor, action=AuditAction.TOKEN_CREATE, token=token, via=via)
    return token, raw


def api_token_revoke(*, actor, token, via="ui"):
    """Revoke an active token; returns False (and writes nothing) when it was already revoked."""
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update().select_related("user").filter(pk=token.pk).first()
        if locked is None or locked.revoked_at is not None:
            return False
        locked.revoke()
        _audit(actor=actor, action=AuditAction.TOKEN_REVOKE, token=locked, via=via)
    token.revoked_at = locked.revoked_at
    return True

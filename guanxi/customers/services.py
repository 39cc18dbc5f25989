"""Customer services with domain meaning beyond plain record edits."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from guanxi.core.choices import TimelineKind
from guanxi.framework.services import timeline_add

from .models import Account, AccountContact


def contact_set_accounts(*, contact, memberships, actor):
    """Make the contact's companies exactly `memberships` = [{"account": Account, "role": str}]."""
    wanted = {}
    for m in memberships:
        account = m["account"]
        role = (m.get("role") or "").strip()
        if len(role) > 100:
            raise ValidationError({"accounts": _("A role has at most 100 characters.")})
        wanted[account.pk] = (account, role)
    current = {m.account_id: m for m in contact.memberships.all()}
    for account_id, membership in current.items():
        if account_id not in wanted:
            membership.delete()
            timeline_add(obj=contact, kind=TimelineKind.UNLINKED, actor=actor,
                         data={"label": str(membership.account)})
    for account_id, (account, role) in wanted.items():
        if account_id in current:
            if current[account_id].role != role:
                AccountContact.objects.filter(pk=current[account_id].pk).update(role=role)
        else:
            AccountContact.objects.create(account=account, contact=contact, role=role)
            timeline_add(obj=contact, kind=TimelineKind.LINKED, actor=actor, data={"label": str(account)})


def account_subtree_ids(account: Account):
    return [account.pk, *account.descendant_ids()]

"""{% pool_state record as ps %}: what the viewer may do with a pooled record (the _pool_actions partial)."""

from django import template

from guanxi.customers import pool_services as services
from guanxi.customers.models import Pool

register = template.Library()


@register.simple_tag(takes_context=True)
def pool_state(context, record):
    request = context.get("request")
    user = getattr(request, "user", None)
    if record is None or user is None or not getattr(record, "pooled", False) or not user.is_authenticated:
        return None
    pool = record.pool if record.pool_id else None
    owner_is_me = record.owner_id == user.pk
    state = {"pool": pool, "owner_is_me": owner_is_me, "can_claim": False, "can_return": False,
             "can_put": False, "claimed": 0, "record_type": record.type_key()}
    if pool is not None:
        member = services.is_member(user, pool)
        state["member"] = member
        state["can_claim"] = record.owner_id is None and member
        state["can_return"] = record.owner_id is not None and services.may_return(user, record)
        if member:
            state["claimed"] = services.claimed_count(user, pool)
    if record.owner_id is not None or pool is None:
        # Managers and administrators move a record into a pool (or another one).
        put_pools = list(Pool.objects.filter(is_active=True).order_by("name"))
        if put_pools and services.may_put(user, record):
            state["can_put"] = True
            state["put_pools"] = put_pools
    if not (pool or state["can_put"]):
        return None
    return state

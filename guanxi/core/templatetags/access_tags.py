"""Whether the signed-in user's role allows an action on a record type, for links and buttons that
lead to pages the role may not open (an agent's "Create one" on the home page)."""

from django import template

from guanxi.core import access

register = template.Library()


@register.simple_tag(takes_context=True)
def allows(context, action, record_type):
    """`{% allows "add" "customers.account" as may_add %}`"""
    return access.allows(context["request"].user, action, record_type)

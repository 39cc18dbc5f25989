"""{% send_email_button object %}: the "Send email" button of a contact's or a company's page, shown when
the user's role may log interactions (the compose page checks again)."""

from django import template
from django.urls import reverse

from guanxi.activities.models import Interaction
from guanxi.core import access

register = template.Library()


@register.inclusion_tag("integrations/_send_email_button.html", takes_context=True)
def send_email_button(context, obj, block=False):
    request = context.get("request")
    user = getattr(request, "user", None)
    key = obj.type_key()
    param = {"customers.contact": "contact", "customers.account": "account"}.get(key)
    show = bool(param and user is not None and access.allows(user, "add", Interaction))
    if show and param == "contact" and not obj.email:  # masked for display, but empty stays empty
        show = False
    url = f"{reverse('integrations:email_compose')}?{param}={obj.pk}" if show else ""
    return {"show": show, "url": url, "block": block}

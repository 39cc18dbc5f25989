"""Email templates rendered with Django's template language, sandboxed.

Administrators write templates, but a template must not reach anything beyond the three values an
email needs. So a template is compiled by an engine with no built-in tags and a few harmless filters
(no {% load %}, {% include %}, {% debug %}, {% url %}...), every variable it uses must be one of
PLACEHOLDERS, filter arguments must be literals, and the context holds plain strings only, never
model objects.
"""

from django.core.exceptions import ValidationError
from django.template import Context, Library
from django.template.base import TextNode, VariableNode
from django.template.engine import Engine
from django.template.exceptions import TemplateSyntaxError
from django.utils.translation import gettext as _

PLACEHOLDERS = ("contact.name", "account.name", "user.display_name")

register = Library()


@register.filter(is_safe=False)
def default(value, arg):
    return value or arg


@register.filter(is_safe=False)
def upper(value):
    return str(value).upper()


@register.filter(is_safe=False)
def lower(value):
    return str(value).lower()


class SandboxEngine(Engine):
    """An engine without Django's default tags and filters: only the library above."""

    default_builtins = []

    def __init__(self, autoescape):
        super().__init__(builtins=[f"{__name__}"], autoescape=autoescape, libraries={}, string_if_invalid="",
                         loaders=[])


_ENGINES = {}


def _engine(autoescape):
    if autoescape not in _ENGINES:
        _ENGINES[autoescape] = SandboxEngine(autoescape)
    return _ENGINES[autoescape]


def _check(nodelist):
    for node in nodelist:
        if isinstance(node, TextNode):
            continue
        if not isinstance(node, VariableNode):  # defensive: the engine has no tags at all
            raise ValidationError(_("Only placeholders such as {{ contact.name }} are allowed in templates."))
        expression = node.filter_expression
        var = expression.var
        name = getattr(var, "var", None)
        if not isinstance(name, str) or name not in PLACEHOLDERS:
            raise ValidationError(
                _("Unknown placeholder “%(name)s”. Allowed: %(allowed)s.")
                % {"name": name if isinstance(name, str) else var, "allowed": ", ".join(PLACEHOLDERS)}
            )
        for _func, args in expression.filters:
            if any(is_variable for is_variable, _arg in args):
                raise ValidationError(_("Filter arguments must be quoted text, not placeholders."))


def compile_template(source, *, autoescape=False):
    """Compile `source`; raise ValidationError for anything but placeholders and the allowed filters."""
    try:
        template = _engine(autoescape).from_string(source or "")
    except TemplateSyntaxError as e:
        raise ValidationError(_("The template is not valid: %(error)s") % {"error": e})
    _check(template.nodelist)
    return template


def validate_template(source):
    compile_template(source)


def placeholder_context(*, contact=None, account=None, user=None):
    """The only values a template can see: plain strings."""
    user_name = ""
    if user is not None:
        user_name = user.display_name or user.get_full_name() or user.username
    return {
        "contact": {"name": contact.name if contact is not None else ""},
        "account": {"name": account.name if account is not None else ""},
        "user": {"display_name": user_name},
    }


def render_template_text(source, context, *, autoescape=False):
    """Render for a text/plain email (no HTML escaping: the text is never parsed as HTML; the CRM
    escapes it when it shows it). `autoescape=True` gives the HTML-safe rendering."""
    return compile_template(source, autoescape=autoescape).render(Context(context, autoescape=autoescape))


def render_email_template(template, *, contact=None, account=None, user=None):
    """(subject, body) of an EmailTemplate for one recipient. Line breaks are taken out of the subject,
    so that no value can add a header."""
    context = placeholder_context(contact=contact, account=account, user=user)
    subject = " ".join(render_template_text(template.subject, context).split())
    body = render_template_text(template.body, context)
    return subject, body

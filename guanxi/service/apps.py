from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceConfig(AppConfig):
    name = "guanxi.service"
    label = "service"
    verbose_name = _("Service")

    def ready(self):
        from django.db.models.signals import post_migrate

        # Registering the record type and the tickets' timeline source (companies, contacts).
        from . import ticket_records, timeline  # noqa: F401

        post_migrate.connect(create_defaults, sender=self)


def create_defaults(sender, **kwargs):
    """Default calendar, categories and SLA policies whenever there are none (after migrate and test flushes)."""
    from .defaults import ensure_defaults

    ensure_defaults()

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "guanxi.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self):
        from django.db.models.signals import post_migrate

        from . import lead_records, opportunity_records  # noqa: F401  (register the record types)

        post_migrate.connect(create_default_pipeline, sender=self)


def create_default_pipeline(sender, **kwargs):
    """The default pipeline and lost reasons whenever there are none: after migrating, and after a test
    flush (which empties the rows migration 0002 wrote but re-sends post_migrate)."""
    from .defaults import ensure_defaults

    ensure_defaults()

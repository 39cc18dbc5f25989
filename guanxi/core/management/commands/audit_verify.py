from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from guanxi.core.audit import audit_verify


class Command(BaseCommand):
    help = ("Check the audit log's hash chain: every row unchanged, none removed, added or moved. "
            "Exits with status 1 and names the first bad row otherwise.")

    def handle(self, *args, **options):
        result = audit_verify()
        if not result.ok:
            # Monitoring relies on the exit status; people need the row to look at and what is wrong with it.
            raise CommandError(
                _("The audit log was tampered with at row %(id)s: %(problem)s (%(n)d rows before it verified).")
                % {"id": result.event_id, "problem": result.problem, "n": result.checked},
                returncode=1,
            )
        self.stdout.write(self.style.SUCCESS(_("Audit log intact: %(n)d rows checked.") % {"n": result.checked}))

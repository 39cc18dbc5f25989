"""Background jobs for integrations: thin wrappers that load ids and call services."""

from django.tasks import task

from . import services


@task
def outbound_send_task(email_id):
    return services.outbound_send(pk=email_id)

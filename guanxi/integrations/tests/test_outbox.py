"""The outbox: one email per event, sent after commit, retried after a failure, never twice."""

import pytest
from django.core import mail

from guanxi.integrations.models import OutboundEmail, OutboundStatus
from guanxi.integrations.services import MAX_ATTEMPTS, outbound_create, outbound_send

pytestmark = pytest.mark.django_db


LOCMEM = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


def test_sent_after_commit_once_per_dedupe_key(django_capture_on_commit_callbacks, settings):
    settings.MAILERS = LOCMEM
    with django_capture_on_commit_callbacks(execute=True):
        first = outbound_create(to=["wang@example.cn"], subject="提醒：回访客户", body_text="今天下午三点",
                                dedupe_key="reminder:1")
        again = outbound_create(to=["wang@example.cn"], subject="提醒：回访客户", body_text="今天下午三点",
                                dedupe_key="reminder:1")
    assert again.pk == first.pk
    assert OutboundEmail.objects.count() == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "提醒：回访客户" and message.extra_headers["Message-ID"] == first.message_id
    first.refresh_from_db()
    assert first.status == OutboundStatus.SENT and first.attempts == 1 and first.sent_at
    # Sending again (a retried job) does nothing.
    assert outbound_send(pk=first.pk) is None
    assert len(mail.outbox) == 1


def test_nothing_is_sent_when_the_event_rolls_back(django_capture_on_commit_callbacks, settings):
    from django.db import transaction

    settings.MAILERS = LOCMEM
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                outbound_create(to="a@example.cn", subject="x", body_text="y")
                raise RuntimeError("the event failed")
    assert OutboundEmail.objects.count() == 0 and mail.outbox == []


def test_failures_are_kept_and_retried_until_the_limit(settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                                    "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 2}}}  # nothing listens
    row = outbound_create(to="a@example.cn", subject="x", body_text="y")
    for attempt in range(1, MAX_ATTEMPTS + 1):
        status = outbound_send(pk=row.pk)
        row.refresh_from_db()
        assert row.attempts == attempt and row.last_error
        assert status == (OutboundStatus.FAILED if attempt == MAX_ATTEMPTS else OutboundStatus.QUEUED)
    assert outbound_send(pk=row.pk) is None

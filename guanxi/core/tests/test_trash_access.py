"""The recycle bin respects visibility: people see and restore only what they may delete; administrators purge."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from guanxi.core.models import AuditEvent, Role
from guanxi.customers.models import Account
from guanxi.customers.tests.factories import AccountFactory
from guanxi.framework.services import record_delete

pytestmark = pytest.mark.django_db


def login(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def trashed(users):
    mine = AccountFactory(owner=users["rep1"], name="回收站-一号")
    theirs = AccountFactory(owner=users["rep2"], name="回收站-二号")
    for obj, actor in ((mine, users["rep1"]), (theirs, users["rep2"])):
        record_delete(obj=obj, actor=actor)
    return mine, theirs


def test_rep_sees_and_restores_only_own_deleted_records(users, trashed):
    mine, theirs = trashed
    client = login(users["rep1"])
    page = client.get(reverse("trash")).content.decode()
    assert "回收站-一号" in page and "回收站-二号" not in page
    assert client.post(reverse("trash_restore", args=["customers.account", theirs.pk])).status_code == 404
    assert Account.all_objects.get(pk=theirs.pk).deleted_at is not None
    assert client.post(reverse("trash_restore", args=["customers.account", mine.pk])).status_code == 302
    assert Account.objects.filter(pk=mine.pk).exists()


def test_manager_sees_the_team_bin_but_only_administrators_purge(users, trashed):
    mine, theirs = trashed
    manager = login(users["manager"])
    page = manager.get(reverse("trash")).content.decode()
    assert "回收站-一号" in page and "回收站-二号" in page
    assert reverse("trash_purge", args=["customers.account", mine.pk]) not in page
    assert manager.post(reverse("trash_purge", args=["customers.account", mine.pk])).status_code == 404
    assert Account.all_objects.filter(pk=mine.pk).exists()

    # An administrator by role (not a superuser) may purge; the purge is audited.
    admin_role = Role.objects.get(code="administrator")
    boss = get_user_model().objects.create_user("boss", password="unused-Pw-77", role=admin_role)
    client = login(boss)
    assert reverse("trash_purge", args=["customers.account", mine.pk]) in client.get(reverse("trash")).content.decode()
    assert client.post(reverse("trash_purge", args=["customers.account", mine.pk])).status_code == 302
    assert not Account.all_objects.filter(pk=mine.pk).exists()
    event = AuditEvent.objects.get(action="purge", record_id=mine.pk)
    assert event.actor == boss and event.record_label == "回收站-一号"


def test_auditor_has_no_recycle_bin_content(users, trashed):
    client = login(users["auditor"])
    page = client.get(reverse("trash")).content.decode()
    assert "回收站-一号" not in page and "回收站-二号" not in page

"""The benchmark's bulk contacts look like the demo's own: they work at companies and some carry tags."""

import io

import pytest
from django.db.models import Count, F

from guanxi.customers import demo
from guanxi.customers.models import AccountContact, Contact


@pytest.mark.django_db
def test_bulk_contacts_belong_to_companies_and_carry_tags():
    demo.seed(companies=30, contacts=40)
    before = set(Contact.all_objects.values_list("pk", flat=True))
    assert demo.bulk_contacts(1500, batch=400) == 1500  # several batches, the last one short

    bulk = Contact.all_objects.exclude(pk__in=before)
    assert bulk.count() == 1500
    links = AccountContact.objects.filter(contact__in=bulk)
    linked = links.values("contact").distinct().count()
    assert 0.7 * 1500 < linked < 0.9 * 1500
    per_contact = links.values("contact").annotate(n=Count("pk")).values_list("n", flat=True)
    assert max(per_contact) == 2 and 30 < sum(1 for n in per_contact if n == 2) < 300
    # Mostly one of the owner's own companies, as a rep's contacts are.
    own = links.filter(is_primary=True, account__owner=F("contact__owner")).count()
    assert own > 0.8 * links.filter(is_primary=True).count()
    tagged = Contact.tags.through.objects.filter(contact__in=bulk).count()
    assert 0.18 * 1500 < tagged < 0.32 * 1500



@pytest.mark.django_db
def test_seed_demo_adds_the_bulk_contacts_last():
    """The activities, deals and tickets are sized for the demo's own contacts, not the benchmark's."""
    from django.core.management import call_command

    from guanxi.activities.models import Interaction

    out = io.StringIO()
    call_command("seed_demo", companies=30, contacts=5200, tickets=20, stdout=out)
    assert "5200 contacts" in out.getvalue()
    bulk = Contact.all_objects.filter(email__endswith=".cn", email__startswith="user")  # bulk_contacts' addresses
    assert bulk.count() == 4200
    assert bulk.order_by("pk").first().pk > Contact.all_objects.exclude(pk__in=bulk).order_by("pk").last().pk
    assert not Interaction.objects.filter(contact__in=bulk).exists()
    assert AccountContact.objects.filter(contact__in=bulk).count() > 0.7 * 4200

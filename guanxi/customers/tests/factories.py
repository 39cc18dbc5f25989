"""factory-boy factories for companies, contacts and relations (Faker zh_CN and en_US)."""

import factory
from factory.django import DjangoModelFactory
from faker import Faker

from guanxi.customers.models import Account, AccountContact, AccountRelation, Contact
from guanxi.framework.validators import credit_code_check_char

FAKE_ZH, FAKE_EN = Faker("zh_CN"), Faker("en_US")


def credit_code(n):
    body = f"91440300{n:09d}"
    return body + credit_code_check_char(body)


def mobile(n):
    return f"+86138{n % 100_000_000:08d}"


def default_owner():
    """Test records belong to rep1 (the user the suites sign in as) unless a test says otherwise."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(username="rep1").first()


class TaggedFactory(DjangoModelFactory):
    class Meta:
        abstract = True

    @factory.post_generation
    def tags(self, create, extracted, **kwargs):
        if create and extracted:
            from guanxi.framework.services import tags_set

            tags_set(self, extracted)


class AccountFactory(TaggedFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"{FAKE_ZH.company()} {n}")
    credit_code = factory.Sequence(credit_code)
    city = factory.Faker("city", locale="zh_CN")
    phone = factory.Sequence(lambda n: mobile(n + 50_000_000))
    lifecycle_stage = "prospect"
    industry = "internet"
    owner = factory.LazyFunction(default_owner)


class EnglishAccountFactory(AccountFactory):
    name = factory.Sequence(lambda n: f"{FAKE_EN.company()} {n}")
    city = factory.Faker("city", locale="en_US")
    country = "US"
    credit_code = ""


class ContactFactory(TaggedFactory):
    class Meta:
        model = Contact

    name = factory.Faker("name", locale="zh_CN")
    title = factory.Faker("job", locale="zh_CN")
    mobile = factory.Sequence(mobile)
    email = factory.Sequence(lambda n: f"person{n}@example.cn")
    city = factory.Faker("city", locale="zh_CN")
    owner = factory.LazyFunction(default_owner)

    @factory.post_generation
    def companies(self, create, extracted, **kwargs):
        """`companies=[account, ...]` or `[(account, role), ...]` creates memberships."""
        if not (create and extracted):
            return
        for item in extracted:
            account, role = item if isinstance(item, tuple) else (item, "")
            AccountContact.objects.create(account=account, contact=self, role=role)


class EnglishContactFactory(ContactFactory):
    name = factory.Faker("name", locale="en_US")
    title = factory.Faker("job", locale="en_US")


class RelationFactory(DjangoModelFactory):
    class Meta:
        model = AccountRelation

    from_account = factory.SubFactory(AccountFactory)
    to_account = factory.SubFactory(EnglishAccountFactory)
    relation_type = "partner"
    notes = factory.Faker("sentence", locale="zh_CN")

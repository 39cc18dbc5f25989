"""factory-boy factories for activities (interactions; tasks are added here too)."""

import datetime

import factory
from factory.django import DjangoModelFactory

from guanxi.activities.models import Interaction
from guanxi.customers.tests.factories import AccountFactory, default_owner

BASE_TIME = datetime.datetime(2025, 1, 6, 1, 0, tzinfo=datetime.UTC)


class InteractionFactory(DjangoModelFactory):
    """A call logged by rep1 about a company of rep1's, in the past, a minute apart per row (newest last)."""

    class Meta:
        model = Interaction

    kind = "call"
    subject = factory.Faker("sentence", nb_words=4, locale="zh_CN")
    content = factory.Faker("paragraph", locale="zh_CN")
    occurred_at = factory.Sequence(lambda n: BASE_TIME + datetime.timedelta(minutes=n))
    account = factory.SubFactory(AccountFactory)
    owner = factory.LazyFunction(default_owner)
    created_by = factory.LazyAttribute(lambda o: o.owner)

    @factory.post_generation
    def participant_contacts(self, create, extracted, **kwargs):
        if create and extracted:
            self.participant_contacts.set(extracted)

    @factory.post_generation
    def participant_users(self, create, extracted, **kwargs):
        if create and extracted:
            self.participant_users.set(extracted)


# -- tasks -------------------------------------------------------------------------------------

TASK_DUE = datetime.datetime(2030, 3, 1, 1, 0, tzinfo=datetime.UTC)  # 09:00 in Shanghai, in the future


class TaskFactory(DjangoModelFactory):
    """An open task of rep1's, due in the future (a minute apart per row), without reminder or repetition."""

    class Meta:
        model = "activities.Task"

    title = factory.Sequence(lambda n: f"回访客户 {n}")
    description = factory.Sequence(lambda n: f"第 {n} 项任务")
    due_at = factory.Sequence(lambda n: TASK_DUE + datetime.timedelta(minutes=n))
    priority = "normal"
    owner = factory.LazyFunction(default_owner)
    created_by = factory.LazyAttribute(lambda o: o.owner)

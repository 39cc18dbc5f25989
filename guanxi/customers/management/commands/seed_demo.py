from django.core.management.base import BaseCommand

from guanxi.customers import demo
from guanxi.customers.models import Account
from guanxi.sales.models import Lead, Opportunity


class Command(BaseCommand):
    help = ("Create bilingual demo data (users, companies, groups, relations, contacts, activities, sales, "
            "service tickets).")

    def add_arguments(self, parser):
        parser.add_argument("--companies", type=int, default=200)
        parser.add_argument("--contacts", type=int, default=1000,
                            help="Contacts to create; large numbers use bulk inserts (e.g. 1000000 for benchmarks).")
        parser.add_argument("--tickets", type=int, default=400, help="Service tickets to create (0: none).")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when companies already exist.")

    def handle(self, *args, companies, contacts, tickets, if_empty, **options):
        if if_empty and Account.all_objects.exists():
            self.stdout.write("Demo data already present; skipping.")
            return
        bulk = contacts - 1000 if contacts > 5000 else 0
        summary = demo.seed(companies=companies, contacts=contacts - bulk)
        from guanxi.activities.demo import seed_activities

        activities = seed_activities()
        self.stdout.write("Demo activities: {interactions} interactions, {tasks} tasks.".format(**activities))
        from guanxi.sales.demo import seed_sales

        sales = seed_sales()
        self.stdout.write("Demo sales: {leads} leads ({converted} converted), {opportunities} deals in {pipelines} "
                          "pipelines, {pool_companies} companies in customer pools, {quotas} quotas.".format(**sales))
        if tickets > 0:
            from guanxi.service.demo import seed_service

            service = seed_service(tickets=tickets)
            self.stdout.write("Demo service: {tickets} tickets ({breached} with a missed SLA target), {rules} "
                              "assignment rules.".format(**service))
        if bulk:
            # Last: the activities, deals and tickets above are sized for the demo's own contacts.
            summary["contacts"] += demo.bulk_contacts(bulk)
        self.stdout.write(self.style.SUCCESS(
            "Demo data: {users} users, {companies} companies, {contacts} contacts, {relations} relations.".format(
                **summary)))
        self.stdout.write("Demo logins: admin, manager, rep1, rep2, rep3, agent, agent2, supervisor, marketer, "
                          f"auditor — password: {demo.DEMO_PASSWORD}")
        from django.contrib.auth import get_user_model

        # What each sales login sees, so that the scopes are visible from the first minute.
        for username in ("rep1", "rep2", "rep3", "manager"):
            user = get_user_model().objects.get(username=username)
            self.stdout.write(f"  {username}: sees {Account.objects.restrict(user, 'view').count()} of "
                              f"{Account.objects.count()} companies, {Lead.objects.restrict(user, 'view').count()} of "
                              f"{Lead.objects.count()} leads, {Opportunity.objects.restrict(user, 'view').count()} of "
                              f"{Opportunity.objects.count()} deals")

from django.db import migrations

# English names; guanxi.sales.defaults.label() translates them for display until they are renamed.
STAGES = [
    ("Qualification", 10, "open", 14),
    ("Needs analysis", 20, "open", 21),
    ("Demo", 40, "open", 21),
    ("Quote", 60, "open", 14),
    ("Negotiation", 80, "open", 14),
    ("Won", 100, "won", 0),
    ("Lost", 0, "lost", 0),
]
LOST_REASONS = ["Price", "Chose a competitor", "No budget", "No decision", "Product fit", "Timing"]


def create_defaults(apps, schema_editor):
    Pipeline = apps.get_model("sales", "Pipeline")
    Stage = apps.get_model("sales", "Stage")
    LostReason = apps.get_model("sales", "LostReason")
    if not Pipeline.objects.exists():
        pipeline = Pipeline.objects.create(name="Standard sales", position=0, is_default=True)
        Stage.objects.bulk_create([
            Stage(pipeline=pipeline, name=name, position=i, probability=p, kind=kind, stall_days=stall)
            for i, (name, p, kind, stall) in enumerate(STAGES)
        ])
    if not LostReason.objects.exists():
        LostReason.objects.bulk_create([LostReason(name=name, position=i) for i, name in enumerate(LOST_REASONS)])


class Migration(migrations.Migration):
    dependencies = [("sales", "0001_initial")]
    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]

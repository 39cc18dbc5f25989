"""Contact phone and email indexes leave out empty values (docs/performance.md, SQLite phone search)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0005_short_name_search_indexes"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="contact", name="contact_phone_idx"),
        migrations.RemoveIndex(model_name="contact", name="contact_email_idx"),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(condition=~models.Q(phone=""), fields=["phone"], name="contact_phone_idx"),
        ),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(condition=~models.Q(email=""), fields=["email"], name="contact_email_idx"),
        ),
    ]

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0004_reading_taken_at_idx"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="vitalreading",
            index=models.Index(
                condition=models.Q(("has_critical", True)),
                fields=["taken_at", "session", "entered_in_error", "id"],
                name="reading_critical_taken_idx",
            ),
        ),
    ]

# The expiry and reminder jobs find open study windows through a partial index on the deadline:
# expired or passed rows get no entry (the expiry UPDATE writes one index entry fewer per row).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("learning", "0005_study_session_binding"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="enrollment",
            name="learning_enr_status_deadline",
        ),
        migrations.AddIndex(
            model_name="enrollment",
            index=models.Index(
                condition=models.Q(("status__in", ["active"])),
                fields=["deadline"],
                name="learning_enr_open_deadline",
            ),
        ),
    ]

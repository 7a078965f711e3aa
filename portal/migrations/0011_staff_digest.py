import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0009_announcement"),
    ]

    operations = [
        migrations.CreateModel(
            name="StaffDigest",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("role", models.CharField(max_length=20, verbose_name="role")),
                ("slot_at", models.DateTimeField(verbose_name="digest time")),
                ("since", models.DateTimeField(verbose_name="counted from")),
                ("sent_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="sent at")),
                ("recipients", models.PositiveIntegerField(default=0, verbose_name="recipients")),
                ("counts", models.JSONField(blank=True, default=dict, verbose_name="counts")),
            ],
            options={
                "verbose_name": "staff digest",
                "verbose_name_plural": "staff digests",
                "ordering": ["-slot_at", "role"],
                "constraints": [
                    models.UniqueConstraint(fields=("role", "slot_at"), name="staff_digest_one_per_slot")
                ],
            },
        ),
    ]

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("certificates", "0005_refresher_invitations"),  # the current leaf; the lead orders the chain
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="IssuerBatch",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="recorded at"),
                ),
                ("sent_on", models.DateField(verbose_name="sent to the issuer on")),
                ("note", models.CharField(blank=True, max_length=200, verbose_name="note")),
                ("count", models.PositiveIntegerField(default=0, verbose_name="number of certificates")),
                (
                    "created_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="recorded by",
                    ),
                ),
            ],
            options={
                "verbose_name": "issuer batch",
                "verbose_name_plural": "issuer batches",
                "ordering": ["-sent_on", "-id"],
            },
        ),
        migrations.AddField(
            model_name="certificate",
            name="issuer_batch",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="certificates",
                to="certificates.issuerbatch",
                verbose_name="issuer batch",
            ),
        ),
        migrations.AddField(
            model_name="certificate",
            name="issuer_number",
            field=models.CharField(
                blank=True, max_length=40, null=True, unique=True, verbose_name="issuer's certificate number"
            ),
        ),
    ]

# The programme's public description (issue #19: the programme pages).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registration", "0010_unit_accounts"),
    ]

    operations = [
        migrations.AddField(
            model_name="programme",
            name="description_html",
            field=models.TextField(
                blank=True,
                help_text="Shown on the programme's public page. HTML: paragraphs, lists, tables and links; "
                "anything else is removed.",
                verbose_name="public description",
            ),
        ),
    ]

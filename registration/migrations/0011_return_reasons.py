"""Preset return / reject reasons (editable in admin), seeded with the ones reviewers give most."""

from django.db import migrations, models

from portal.roles import REVIEWER, grant_in_migration

ROLE_PERMISSIONS = {
    REVIEWER: [
        "registration.view_returnreason",
        "registration.add_returnreason",
        "registration.change_returnreason",
    ],
}

PRESETS = [
    "照片不符合要求（须为近期彩色正面免冠证件照，白色或蓝色背景）",
    "身份证复印件不清晰或不完整，请重新上传正反面",
    "身份证号码与身份证复印件不一致",
    "姓名与身份证不一致",
    "学历或安全生产工作年限填写有误",
    "工作简历填写不完整",
    "培训类别选择有误（初训 / 复训）",
    "复训须填写原培训证书编号",
    "单位不在本次培训范围内",
    "重复报名",
]


def seed(apps, schema_editor):
    ReturnReason = apps.get_model("registration", "ReturnReason")
    for order, text in enumerate(PRESETS, start=1):
        ReturnReason.objects.get_or_create(text=text, defaults={"order": order * 10})
    grant_in_migration(apps, ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("registration", "0009_programme_area_previous_certificate"),
        ("portal", "0002_roles"),
    ]

    operations = [
        migrations.CreateModel(
            name="ReturnReason",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("text", models.CharField(max_length=200, unique=True, verbose_name="text")),
                ("order", models.PositiveSmallIntegerField(default=0, verbose_name="order")),
                ("active", models.BooleanField(default=True, verbose_name="active")),
            ],
            options={
                "verbose_name": "preset return reason",
                "verbose_name_plural": "preset return reasons",
                "ordering": ["order", "pk"],
            },
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]

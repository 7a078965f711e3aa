"""The data migration encrypts the ID numbers already stored, and going back decrypts them."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from portal.crypto import decrypt, personal_hash
from registration.validators import id_number_mask
from tests.factories import id_number_make

BEFORE = [("registration", "0003_roles")]
AFTER = [("registration", "0006_trainee_id_number_encrypted")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


def _latest():
    """Every app's latest migration: where the test database must be left for the tests after."""
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def _raw(trainee_id):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id_number, id_number_hash, id_number_masked FROM registration_trainee WHERE id = %s",
            [trainee_id],
        )
        return cursor.fetchone()


@pytest.mark.django_db(transaction=True)
def test_existing_id_numbers_are_encrypted_and_can_be_decrypted_back():
    old_apps = _migrate(BEFORE)
    Programme = old_apps.get_model("registration", "Programme")
    Application = old_apps.get_model("registration", "Application")
    Trainee = old_apps.get_model("registration", "Trainee")
    programme = Programme.objects.create(
        name="旧项目", year=2025, opens_on="2025-01-01", closes_on="2025-12-31"
    )
    application = Application.objects.create(
        programme=programme,
        reference="2025000001",
        unit_name="旧单位",
        industry="C",
        contact_name="联系人",
        contact_phone="13700000000",
        mail_recipient="联系人",
        mail_phone="13700000000",
        mail_address="地址",
        invoice_title="旧单位",
        invoice_email="a@example.org",
    )
    numbers = [id_number_make(900 + n) for n in range(3)]
    ids = [
        Trainee.objects.create(
            application=application,
            programme=programme,
            row_number=n + 1,
            name=f"学员{n}",
            id_number=number,
            mobile=f"1370000090{n}",
            certificate_type="principal",
            training_category="initial",
        ).pk
        for n, number in enumerate(numbers)
    ]
    try:
        _migrate(AFTER)
        for pk, number in zip(ids, numbers, strict=True):
            token, digest, masked = _raw(pk)
            assert number not in token and decrypt(token) == number
            assert digest == personal_hash(number) and masked == id_number_mask(number)
        from registration.models import Trainee as CurrentTrainee

        assert sorted(CurrentTrainee.objects.values_list("id_number", flat=True)) == sorted(numbers)

        _migrate(BEFORE)
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, id_number FROM registration_trainee ORDER BY id")
            assert cursor.fetchall() == list(zip(ids, numbers, strict=True))
    finally:
        _migrate(_latest())

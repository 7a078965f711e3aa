"""Audit of plain Django admin edits: every add, change and delete made by staff in admin.

Status transitions already write their own audit entries through the services; this covers the
rest (programmes, courses, lessons, questions, settings, holidays, users, ...). Mix
:class:`AuditedModelAdmin` into a ``ModelAdmin`` (before the admin base class)::

    class HolidayAdmin(AuditedModelAdmin, admin.ModelAdmin): ...

Each entry says who, which object, the old and new value of every changed field (``form.initial``
against ``cleaned_data`` for ``form.changed_data``) and the address, and is written in the same
transaction as the change. Secrets are never stored (password hashes, tokens, keys: only that they
changed); files are stored by name; personal ID numbers are masked.
"""

import datetime
import re
import uuid
from decimal import Decimal
from typing import Any

from django.contrib.admin.utils import unquote
from django.core.files.base import File
from django.db import models, router, transaction
from django.db.models.fields.files import FieldFile
from django.forms.models import ModelChoiceField
from django.utils import timezone

from .http import client_ip
from .services import audit_record

HIDDEN = "[hidden]"
MAX_TEXT = 4000

# Field names whose values are never written to the audit log (only that they changed).
SECRET_FIELD = re.compile(r"password|secret|token|access_key|api_key|private_key|_hash$|^otp|code_hash", re.I)
# Personal ID numbers: only the first and last four characters.
MASKED_FIELD = re.compile(r"(^|_)id_number$", re.I)


def _mask(text: str) -> str:
    return text[:4] + "*" * (len(text) - 8) + text[-4:] if len(text) > 8 else "*" * len(text)


def _text(value: str) -> str:
    return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"


def _model_label(obj: models.Model) -> str:
    return _text(f"{obj} [#{obj.pk}]")


def audit_value(value: Any, form_field=None) -> Any:
    """A JSON-safe, readable form of a field value (files by name, objects by label and id)."""
    if isinstance(value, models.QuerySet | list | tuple | set | frozenset):
        items = [audit_value(item, form_field) for item in value]
        return sorted(items, key=str) if isinstance(value, models.QuerySet | set | frozenset) else items
    if isinstance(value, models.Model):
        return _model_label(value)
    if isinstance(form_field, ModelChoiceField) and value not in (None, ""):
        # A model form's initial value of a foreign key is the key itself: show the object.
        key = form_field.to_field_name or "pk"
        found = form_field.queryset.model._default_manager.filter(**{key: value}).first()
        return _model_label(found) if found is not None else audit_value(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, FieldFile | File):
        return value.name or ""
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, datetime.datetime):
        # To the second and in UTC: a form posts back what it showed, without microseconds.
        if timezone.is_aware(value):
            value = value.astimezone(datetime.UTC)
        return value.replace(microsecond=0).isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {str(k): audit_value(v) for k, v in value.items()}
    return _text(str(value))


def _field_value(name: str, value: Any, form_field=None) -> Any:
    if SECRET_FIELD.search(name):
        return HIDDEN
    if value is False and form_field is not None and form_field.__class__.__name__.endswith("FileField"):
        return ""  # "clear" ticked on a file input
    plain = audit_value(value, form_field)
    if MASKED_FIELD.search(name) and isinstance(plain, str):
        return _mask(plain)
    return plain


def form_changes(form, *, adding: bool) -> tuple[dict | None, dict]:
    """``(old, new)`` for the fields of a bound, valid form: the changed fields (all filled-in ones
    when adding). Files: the new value is the stored name when the instance has it."""
    names = list(form.changed_data)
    old = None if adding else {}
    new = {}
    instance = getattr(form, "instance", None)
    for name in names:
        field = form.fields.get(name)
        if not adding:
            old[name] = _field_value(name, form.initial.get(name, field.initial if field else None), field)
        value = form.cleaned_data.get(name)
        if instance is not None and isinstance(value, File):
            stored = getattr(instance, name, None)
            if isinstance(stored, FieldFile) and stored.name:
                value = stored  # after the save: the name it was stored under
        new[name] = _field_value(name, value, field)
        if not adding and old[name] == new[name] and old[name] != HIDDEN:
            del old[name], new[name]  # changed only in form (e.g. a time shown without microseconds)
    return old, new


def object_snapshot(obj: models.Model) -> dict:
    """Every concrete field of an object about to be deleted (secrets hidden, files by name)."""
    snapshot = {}
    for field in obj._meta.concrete_fields:
        snapshot[field.name] = _field_value(field.name, field.value_from_object(obj))
    return snapshot


class AuditedModelAdmin:
    """ModelAdmin mixin: writes an ``AuditEntry`` for every add, change and delete in admin
    (inlines included), in the transaction of the change. Put it before the admin base class."""

    def _audit_action(self, model, verb: str) -> str:
        opts = model._meta
        return f"admin.{opts.app_label}.{opts.model_name}.{verb}"

    def _audit_atomic(self):
        return transaction.atomic(using=router.db_for_write(self.model))

    def save_model(self, request, obj, form, change):
        with self._audit_atomic():
            super().save_model(request, obj, form, change)
            # After the save: new files have their stored names, new objects their id.
            old, new = form_changes(form, adding=not change) if form is not None else (None, {})
            if change and not new:
                return  # saved without changing anything
            audit_record(
                actor=request.user,
                action=self._audit_action(obj, "change" if change else "add"),
                target=obj,
                old=old,
                new=new,
                ip=client_ip(request),
            )

    def delete_model(self, request, obj):
        with self._audit_atomic():
            audit_record(
                actor=request.user,
                action=self._audit_action(obj, "delete"),
                target=obj,
                old=object_snapshot(obj),
                ip=client_ip(request),
            )
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with self._audit_atomic():
            ip = client_ip(request)
            for obj in queryset:
                audit_record(
                    actor=request.user,
                    action=self._audit_action(obj, "delete"),
                    target=obj,
                    old=object_snapshot(obj),
                    ip=ip,
                )
            super().delete_queryset(request, queryset)

    def save_formset(self, request, form, formset, change):
        """Inline rows: one entry per row added, changed or deleted."""
        with self._audit_atomic():
            ip = client_ip(request)
            changed, added = [], []
            for row in formset.initial_forms:
                if row.instance.pk is None:
                    continue
                if formset.can_delete and formset._should_delete_form(row):
                    # Written before the row goes (its id is still known), in the same transaction.
                    audit_record(
                        actor=request.user,
                        action=self._audit_action(row.instance, "delete"),
                        target=row.instance,
                        old=object_snapshot(row.instance),
                        ip=ip,
                    )
                elif row.has_changed():
                    changed.append(row)
            for row in formset.extra_forms:
                if row.has_changed() and not (formset.can_delete and formset._should_delete_form(row)):
                    added.append(row)
            super().save_formset(request, form, formset, change)
            for verb, rows in (("change", changed), ("add", added)):
                for row in rows:
                    old, new = form_changes(row, adding=verb == "add")
                    if verb == "change" and not new:
                        continue
                    audit_record(
                        actor=request.user,
                        action=self._audit_action(row.instance, verb),
                        target=row.instance,
                        old=old,
                        new=new,
                        ip=ip,
                    )

    def user_change_password(self, request, id, form_url=""):
        """The user admin's own "change password" page saves without ``save_model``: audit it
        here (that it changed, never the value). Only the user admin routes to this."""
        with self._audit_atomic():
            response = super().user_change_password(request, id, form_url)
            if request.method == "POST" and response.status_code == 302:
                user = self.get_object(request, unquote(id))
                audit_record(
                    actor=request.user,
                    action=self._audit_action(user, "password"),
                    target=user,
                    new={"password": HIDDEN},
                    ip=client_ip(request),
                )
        return response

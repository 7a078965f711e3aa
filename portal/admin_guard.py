"""Secret fields, and the guard that keeps them out of every admin query string.

Django admin filters its lists by any lookup on any field of the model given in the query string
(``?access_key__gte=a``): a yes / no oracle that recovers a secret one character at a time. Every
secret field is declared once, in :data:`SECRET_FIELDS`, and :class:`SecretFieldsAdminMixin` makes an
admin refuse (400, as Django refuses a lookup it does not allow) any lookup whose path touches one,
through relations too (``trainee__access_key__startswith``), and never filter, search, sort or
date-drill on one. The admin site (:mod:`portal.admin_site`) puts the mixin on every ``ModelAdmin``
registered, third-party ones included, so a new admin cannot forget it; ``manage.py check`` fails on
an admin configured to filter, search or sort by a secret.

A concrete field whose name looks like a secret (``key``, ``token``, ``hash``, ``secret``,
``password``) or that is encrypted is guarded even before it is declared, and the check warns until
it is declared here (``tests/security/test_admin_lookups.py`` fails on it).
"""

import functools
import re

from django.core import checks
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models.constants import LOOKUP_SEP

from .crypto import EncryptedCharField

# model label (lower case) -> secret fields. A secret is what opens something (private-link keys,
# verification keys, session tokens, code and password hashes), an encrypted value and its keyed
# hash, or what rebuilds one: the birth date turns a masked ID number into a handful of candidates.
SECRET_FIELDS: dict[str, frozenset[str]] = {
    "portal.user": frozenset({"password"}),
    "portal.outboundmessage": frozenset({"body", "params_json"}),
    "registration.application": frozenset({"access_key"}),
    "registration.trainee": frozenset({"access_key", "id_number", "id_number_hash", "birth_date"}),
    "registration.unitaccesscode": frozenset({"code_hash"}),
    "learning.accesscode": frozenset({"link_hash", "code_hash"}),
    "learning.studystate": frozenset({"token", "session_key_hash", "session_auth_hash"}),
    "learning.offlinesession": frozenset({"token"}),
    "learning.identitycheck": frozenset({"code_hash"}),
    "certificates.certificate": frozenset({"verify_key"}),
    "certificates.refresherinvitation": frozenset({"holder_hash"}),
    "certificates.refresheroptout": frozenset({"holder_hash"}),
    "sessions.session": frozenset({"session_key", "session_data"}),
    "axes.accesslog": frozenset({"session_hash"}),
}

# Names that look like a secret: such a field is guarded even when it is not declared.
SECRET_NAME = re.compile(r"key|token|hash|secret|password", re.IGNORECASE)


def _label(model) -> str:
    return model._meta.concrete_model._meta.label_lower


def field_is_secret(field) -> bool:
    """Declared in :data:`SECRET_FIELDS`, encrypted, or a concrete field named like a secret."""
    if not getattr(field, "concrete", False) or field.is_relation:
        return False
    return (
        field.name in SECRET_FIELDS.get(_label(field.model), ())
        or isinstance(field, EncryptedCharField)
        or bool(SECRET_NAME.search(field.name))
    )


def path_touches_secret(model, path) -> bool:
    """Whether a lookup, search or ordering path (``trainee__access_key__gte``, ``-id_number_hash``,
    ``^name``) reaches a secret field. Parts after the last field are lookups / transforms."""
    if not isinstance(path, str):
        return False  # an expression: checked where it is built
    opts = model._meta
    for part in path.lstrip("-^=@").split(LOOKUP_SEP):
        try:
            field = opts.pk if part == "pk" else opts.get_field(part)
        except FieldDoesNotExist:
            return False
        if field_is_secret(field):
            return True
        if not field.is_relation or field.related_model is None:
            return False
        opts = field.related_model._meta
    return False


def undeclared_secret_fields(models_to_check=None) -> list[str]:
    """``app.model.field`` of every field guarded for its name or type but not declared (of every
    installed model, or of ``models_to_check``)."""
    from django.apps import apps

    return sorted(
        f"{_label(model)}.{field.name}"
        for model in (apps.get_models() if models_to_check is None else models_to_check)
        if not model._meta.proxy
        for field in model._meta.concrete_fields
        if field_is_secret(field) and field.name not in SECRET_FIELDS.get(_label(model), ())
    )


@checks.register(checks.Tags.models)
def check_secret_fields_declared(app_configs=None, **kwargs):
    return [
        checks.Warning(
            f"{name} looks like a secret but is not declared in portal.admin_guard.SECRET_FIELDS.",
            hint="Declare it there (it is guarded in admin until then).",
            id="portal.W101",
        )
        for name in undeclared_secret_fields()
    ]


def _ordering_path(model_admin, name):
    """What a ``list_display`` column sorts by, resolved as ``ChangeList.get_ordering_field`` does."""
    try:
        return model_admin.model._meta.get_field(name).name
    except (FieldDoesNotExist, TypeError):
        pass
    if callable(name):
        attr = name
    elif hasattr(model_admin, name):
        attr = getattr(model_admin, name)
    elif hasattr(model_admin.model, name):
        attr = getattr(model_admin.model, name)
    else:
        return name if LOOKUP_SEP in name else None
    if isinstance(attr, property) and hasattr(attr, "fget"):
        attr = attr.fget
    return getattr(attr, "admin_order_field", None)


def _expression_touches_secret(model, expression) -> bool:
    """An ordering expression (``F("access_key").desc()``) that reads a secret column."""
    if isinstance(expression, models.F):
        return path_touches_secret(model, expression.name)
    return any(
        _expression_touches_secret(model, source)
        for source in getattr(expression, "get_source_expressions", lambda: [])()
    )


def _sorts_by_secret(model, order) -> bool:
    if isinstance(order, str):
        return path_touches_secret(model, order)
    return order is not None and _expression_touches_secret(model, order)


def _filter_path(item):
    if isinstance(item, list | tuple):
        return item[0]
    return item if isinstance(item, str) else None  # a SimpleListFilter class: its own parameter


def admin_secret_errors(model_admin) -> list[checks.Error]:
    """An admin configured to filter, search, sort or date-drill by a secret field."""
    model = model_admin.model
    found = []
    for item in model_admin.list_filter or ():
        path = _filter_path(item)
        if path and path_touches_secret(model, path):
            found.append(("list_filter", path))
    found += [("search_fields", p) for p in model_admin.search_fields or () if path_touches_secret(model, p)]
    ordering = model_admin.ordering or model._meta.ordering or ()
    found += [("ordering", o) for o in ordering if _sorts_by_secret(model, o)]
    if model_admin.date_hierarchy and path_touches_secret(model, model_admin.date_hierarchy):
        found.append(("date_hierarchy", model_admin.date_hierarchy))
    for column in model_admin.list_display or ():
        if _sorts_by_secret(model, _ordering_path(model_admin, column)):
            found.append(("list_display", getattr(column, "__name__", column)))
    return [
        checks.Error(
            f"{type(model_admin).__name__}.{option} uses the secret field {path!r}.",
            hint="Secret fields (portal.admin_guard.SECRET_FIELDS) are never filtered, searched or sorted by.",
            obj=type(model_admin),
            id="portal.E101",
        )
        for option, path in found
    ]


@functools.cache
def _guarded_changelist(changelist_class):
    class GuardedChangeList(changelist_class):
        def get_ordering_field(self, field_name):
            order = super().get_ordering_field(field_name)
            return None if _sorts_by_secret(self.model, order) else order  # ?o= on such a column

    GuardedChangeList.__name__ = GuardedChangeList.__qualname__ = f"Guarded{changelist_class.__name__}"
    return GuardedChangeList


class SecretFieldsAdminMixin:
    """ModelAdmin mixin: no query-string lookup, search, sort or ``to_field`` on a secret field.

    Put on every registered admin by :class:`portal.admin_site.PortalAdminSite`."""

    def lookup_allowed(self, lookup, value, request=None):
        if path_touches_secret(self.model, lookup):
            return False
        return super().lookup_allowed(lookup, value, request)

    def to_field_allowed(self, request, to_field):
        if path_touches_secret(self.model, to_field):
            return False
        return super().to_field_allowed(request, to_field)

    def get_search_fields(self, request):
        return [f for f in super().get_search_fields(request) if not path_touches_secret(self.model, f)]

    def get_list_filter(self, request):
        return [
            item
            for item in super().get_list_filter(request)
            if not (_filter_path(item) and path_touches_secret(self.model, _filter_path(item)))
        ]

    def get_ordering(self, request):
        return [o for o in super().get_ordering(request) or () if not _sorts_by_secret(self.model, o)]

    def get_changelist(self, request, **kwargs):
        return _guarded_changelist(super().get_changelist(request, **kwargs))

    def check(self, **kwargs):
        return [*super().check(**kwargs), *admin_secret_errors(self)]


def guarded_admin_class(admin_class: type) -> type:
    """``admin_class`` with :class:`SecretFieldsAdminMixin` in front (itself if it has it already)."""
    if issubclass(admin_class, SecretFieldsAdminMixin):
        return admin_class
    return type(
        admin_class.__name__,
        (SecretFieldsAdminMixin, admin_class),
        {"__module__": admin_class.__module__, "__qualname__": admin_class.__qualname__},
    )

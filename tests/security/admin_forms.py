"""Build the POST data of a Django admin change form from the page the admin rendered (its bound
or initial values, inline formsets and their management forms included)."""

import datetime

from django import forms


def _put(data: dict, name: str, value, widget) -> None:
    if isinstance(widget, forms.MultiWidget) and not isinstance(value, list | tuple):
        parts = widget.decompress(value)
        for index, part in enumerate(parts):
            _put(data, f"{name}_{index}", part, widget.widgets[index])
        return
    if isinstance(widget, forms.CheckboxInput):
        if value:
            data[name] = "on"
        return
    if isinstance(widget, forms.FileInput) or value is None:
        return
    if isinstance(value, list | tuple):
        data[name] = [str(getattr(item, "pk", item)) for item in value]
    elif isinstance(value, datetime.datetime):
        data[name] = value.strftime("%Y-%m-%d %H:%M:%S")
    elif isinstance(value, datetime.date):
        data[name] = value.isoformat()
    else:
        data[name] = str(getattr(value, "pk", value))


def _form_data(data: dict, form) -> None:
    for bound in form:
        if bound.field.disabled:
            continue
        _put(data, bound.html_name, bound.value(), bound.field.widget)


def changeform_data(response, **overrides) -> dict:
    """The data the browser would post back from an admin add / change page, with ``overrides``."""
    context = response.context
    data: dict = {}
    _form_data(data, context["adminform"].form)
    for inline in context.get("inline_admin_formsets", []):
        formset = inline.formset
        _form_data(data, formset.management_form)
        for form in formset.forms:
            _form_data(data, form)
    data.update(overrides)
    return data

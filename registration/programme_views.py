"""The public programme pages: every programme grouped by where its registration stands today
(open, upcoming, closed) and one programme's page, with the sign-up buttons while it is open. Served
at the site's root (``/programmes/``, names ``portal:programmes`` and ``portal:programme``)."""

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from portal.selectors import announcements_for_programme

from .selectors_programmes import programme_card, programmes_grouped


@require_GET
def programme_list(request):
    return render(request, "registration/programme_list.html", {"groups": programmes_grouped()})


@require_GET
def programme_detail(request, pk: int):
    card = programme_card(pk=pk)
    if card is None:
        raise Http404
    context = {
        "card": card,
        "programme": card.programme,
        "announcements": announcements_for_programme(programme_id=card.programme.pk),
    }
    return render(request, "registration/programme_detail.html", context)

"""The portal's URLs plus a bare view (bench only): the same middleware, no database work."""

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.http import require_POST

from portal.urls import urlpatterns as portal_urlpatterns


@require_POST
def bare(request):
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/bare/", bare), *portal_urlpatterns]

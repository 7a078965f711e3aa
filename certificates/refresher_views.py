"""The public opt-out page of refresher invitations (the signed link in each invitation)."""

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from portal.http import client_ip

from .services.refresher import invitation_by_signed_link, refresher_opt_out


@never_cache
@require_http_methods(["GET", "POST"])
def refresher_opt_out_page(request, pk: int, signature: str):
    """GET: what the link does and a button; POST: no more refresher invitations to this holder."""
    invitation = invitation_by_signed_link(pk=pk, signature=signature)
    if invitation is None:
        raise Http404
    done = False
    if request.method == "POST":
        refresher_opt_out(invitation=invitation, ip=client_ip(request))
        done = True
    response = render(
        request,
        "certificates/refresher_opt_out.html",
        {"invitation": invitation, "certificate": invitation.certificate, "done": done},
    )
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response

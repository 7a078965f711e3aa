"""``{% my_certificates user %}``: the personal centre's "my certificates" with the refresher due
date and the re-registration button (registration.units.people.user_people)."""

from django import template

from .. import selectors
from ..units.people import user_people
from ..units.people_views import STATE_BADGES

register = template.Library()


@register.inclusion_tag("registration/_my_certificates.html")
def my_certificates(user) -> dict:
    if not getattr(user, "is_authenticated", False):
        return {"people": []}
    programme = selectors.programme_current()
    people = user_people(user=user, programme=programme)
    return {
        "programme": programme,
        "people": [{"person": person, "badge": STATE_BADGES.get(person.state, "")} for person in people],
    }

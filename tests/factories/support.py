"""The trainees' support pages: the association's contacts and FAQ entries (portal)."""

import factory

from portal.models import Contact, ContactRole, FaqEntry


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    role = ContactRole.TECHNICAL
    name = factory.Sequence(lambda n: f"联系人{n}")
    phone = factory.Sequence(lambda n: f"020-{n:08d}")
    email = ""
    hours = "工作日 9:00–17:30"
    order = factory.Sequence(lambda n: n)
    active = True


class FaqEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FaqEntry

    topic = "账号与登录"
    question = factory.Sequence(lambda n: f"常见问题{n}？")
    answer_html = "<p>答案。</p>"
    order = factory.Sequence(lambda n: n)
    published = True

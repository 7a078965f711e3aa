from django.urls import reverse


def test_personal_centre_links_to_the_exam_and_practice(client, enrollment):
    client.force_login(enrollment.user)
    html = client.get(reverse("learning:enrollment_detail", args=[enrollment.pk])).content.decode()
    assert reverse("exams:home", args=[enrollment.pk]) in html
    assert reverse("exams:practice", args=[enrollment.pk]) in html
    html = client.get(reverse("learning:centre")).content.decode()
    assert reverse("exams:home", args=[enrollment.pk]) in html

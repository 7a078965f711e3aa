"""Demo data of the certificates app (``manage.py demo_data``; safe to run again): a drawn seal and
the courier sender (the issuer's name is the demo association's, portal/demo.py); certificates for
any passed demo enrollment."""

import io

from django.core.files.base import ContentFile

from . import rendering
from .services.config import certificate_settings_get
from .services.issue import certificates_issue_missing


def seal_png() -> bytes:
    """A red round seal with a star (drawn, transparent background)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((12, 12, 388, 388), outline=(200, 20, 20, 230), width=14)
    draw.ellipse((40, 40, 360, 360), outline=(200, 20, 20, 200), width=4)
    draw.regular_polygon((200, 200, 70), 5, fill=(200, 20, 20, 230))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def load(*, stdout) -> None:
    config = certificate_settings_get()
    if not config.seal:  # first run: the demo seal and sender (staff edits are kept after)
        config.seal.save("seal.png", ContentFile(seal_png()), save=False)
        config.sender_name = "证书组"
        config.sender_phone = "0571-80000000"
        config.sender_address = "示例市中心区安全路 1 号 示例市职业安全协会"
        config.save()
    issued = certificates_issue_missing()
    rendering.warm_up()
    stdout.write(
        f"Certificates demo: seal and courier sender set; {issued} certificate(s) issued when passed."
    )

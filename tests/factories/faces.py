"""Face images for the identity checks (issue #23), from images shipped inside installed packages
(nothing downloaded): scikit-image's ``astronaut`` (one person, Eileen Collins) and one face of
its ``lfw_subset`` (Labeled Faces in the Wild, 25 x 25 gray: another person, scaled up).

- :func:`face_photo_bytes`: the registered photo (a one-inch ID photo, 5:7, 354 x 496, in colour).
- :func:`face_frames`: two camera frames of the same person a moment apart (shifted, turned, other
  light: a different crop of the same picture).
- :func:`other_face_bytes`: a frame of somebody else.
- :func:`two_faces_bytes` / :func:`no_face_bytes`: photos the gate refuses.
"""

import functools
import io

from PIL import Image, ImageEnhance, ImageOps

#: The astronaut's head in skimage's 512 x 512 picture, as a 5:7 box (left, top, right, bottom).
ASTRONAUT_PHOTO_BOX = (130, 10, 310, 262)
#: A face of lfw_subset far from the astronaut's (descriptor distance about 0.96).
OTHER_FACE_INDEX = 71


def _jpeg(image: Image.Image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=quality)
    return out.getvalue()


@functools.cache
def astronaut() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.astronaut())


def face_photo_image() -> Image.Image:
    return astronaut().crop(ASTRONAUT_PHOTO_BOX).resize((354, 496), Image.LANCZOS)


def face_photo_bytes() -> bytes:
    return _jpeg(face_photo_image())


def _frame(*, dx: int, angle: float, light: float, mirror: bool = False) -> bytes:
    left, top, right, bottom = ASTRONAUT_PHOTO_BOX
    image = astronaut().crop((left - 40 + dx, top, right + 40 + dx, bottom + 30)).rotate(angle)
    image = ImageEnhance.Brightness(image).enhance(light)
    if mirror:
        image = ImageOps.mirror(image)
    return _jpeg(image.resize((320, 360)), quality=80)


def face_frames() -> tuple[bytes, bytes]:
    """Two frames of the same person about a second apart (moved a little, other light)."""
    return _frame(dx=0, angle=0, light=1.0), _frame(dx=12, angle=4, light=0.9, mirror=True)


def still_frames() -> tuple[bytes, bytes]:
    """The same still picture twice (what a virtual camera showing a photo sends)."""
    frame = _frame(dx=0, angle=0, light=1.0)
    return frame, frame


def other_face_image() -> Image.Image:
    from skimage import data

    pixels = data.lfw_subset()[OTHER_FACE_INDEX]
    face = Image.fromarray((pixels * 255).astype("uint8")).convert("RGB").resize((120, 120), Image.BICUBIC)
    return ImageOps.expand(face, border=70, fill=(128, 128, 128))


def other_face_bytes(*, light: float = 1.0) -> bytes:
    return _jpeg(ImageEnhance.Brightness(other_face_image()).enhance(light))


def other_frames() -> tuple[bytes, bytes]:
    """Two frames of somebody else (the second a little darker: a live camera)."""
    return other_face_bytes(), other_face_bytes(light=0.85)


def two_faces_bytes() -> bytes:
    """A 5:7 photo with two faces (the astronaut and the other person)."""
    canvas = Image.new("RGB", (354, 496), (230, 230, 240))
    canvas.paste(astronaut().crop(ASTRONAUT_PHOTO_BOX).resize((170, 238)), (5, 120))
    canvas.paste(other_face_image().resize((170, 170)), (180, 150))
    return _jpeg(canvas)


def small_face_bytes() -> bytes:
    """A 5:7 photo whose face covers a few per cent of it (a distant snapshot)."""
    canvas = Image.new("RGB", (708, 992), (60, 120, 200))
    canvas.paste(astronaut().crop(ASTRONAUT_PHOTO_BOX).resize((150, 210)), (280, 390))
    return _jpeg(canvas)

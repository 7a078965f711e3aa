"""Faces in images: detection and comparison (issue #23: identity checks, the registered photo's gate).

The same method as the ``face_recognition`` package, with dlib used directly (``dlib-bin``: a
prebuilt wheel; ``face_recognition`` itself would compile dlib): dlib's HOG frontal face detector,
the 5-point shape predictor and the ResNet face encoder shipped in ``face-recognition-models``,
giving a 128-number descriptor per face; two faces are the same person when the Euclidean distance
of their descriptors is below ``PORTAL_FACE_MATCH_THRESHOLD`` (0.6, dlib's own threshold: 99.38 %
on the LFW benchmark). Nothing is downloaded: the models are files of the installed package, loaded
once per process (~0.5 s, 100 MB of RAM, see :func:`models_load`).

Images come only through :mod:`portal.uploads` (:func:`image_decode`): the same size, type and
pixel-count checks as every upload before anything is decoded. A large image is scaled down to
``FACE_MAX_SIDE`` before detection (detection time grows with the pixels; a face needs no more).
"""

import functools
import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

FACE_MAX_SIDE = 640  # images are scaled down to this before detection (speed; faces stay ≥ 80 px)
DEFAULT_MATCH_THRESHOLD = 0.6
FACE_MAX_INPUT_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Face:
    """One face found: its box (left, top, right, bottom, in the pixels of the image given), the
    share of the image's area the box covers, its 5 landmarks and its 128-number descriptor."""

    box: tuple[int, int, int, int]
    area_share: float
    landmarks: tuple[tuple[float, float], ...]
    descriptor: tuple[float, ...]


@functools.cache
def models_load():
    """dlib's detector, shape predictor and encoder (loaded once per process)."""
    import dlib

    return (
        dlib.get_frontal_face_detector(),
        dlib.shape_predictor(str(model_path("shape_predictor_5_face_landmarks.dat"))),
        dlib.face_recognition_model_v1(str(model_path("dlib_face_recognition_resnet_model_v1.dat"))),
    )


def model_path(name: str) -> Path:
    """A model file of the installed ``face-recognition-models`` package, found without importing it
    (its ``__init__`` imports ``pkg_resources``, which recent setuptools no longer ship)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("face-recognition-models is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models" / name


def match_threshold() -> float:
    return float(getattr(settings, "PORTAL_FACE_MATCH_THRESHOLD", DEFAULT_MATCH_THRESHOLD))


def image_decode(data: bytes, *, max_bytes: int = FACE_MAX_INPUT_BYTES):
    """Bytes of a JPEG or PNG → a decoded RGB ``PIL.Image`` (the checks of
    :func:`portal.uploads.image_upload_check`; ``ValidationError`` when they fail)."""
    from django.core.files.base import ContentFile

    from .uploads import image_upload_check

    image = image_upload_check(ContentFile(data, name="face"), max_bytes=max_bytes).decode()
    return image if image.mode == "RGB" else image.convert("RGB")


def faces_find(image, *, upsample: int = 0) -> list[Face]:
    """Every face in a decoded ``PIL.Image`` (largest first), with its descriptor.

    ``upsample=0`` finds faces from about 80 pixels wide (after scaling to ``FACE_MAX_SIDE``): any face
    of an ID photo or a snapshot taken in front of the camera, in a third of the time of ``1`` (which
    finds faces from 40 pixels: the registered photo's gate uses it, to say "too small" rather than
    "no face")."""
    import numpy as np
    from PIL import Image

    detector, predictor, encoder = models_load()
    width, height = image.size
    scale = min(1.0, FACE_MAX_SIDE / max(width, height))
    work = image if image.mode == "RGB" else image.convert("RGB")
    if scale < 1.0:
        work = work.resize((max(1, round(width * scale)), max(1, round(height * scale))), Image.BILINEAR)
    pixels = np.asarray(work)
    found = []
    for rect in detector(pixels, upsample):
        shape = predictor(pixels, rect)
        descriptor = tuple(encoder.compute_face_descriptor(pixels, shape, 1))
        left, top = max(0, rect.left()), max(0, rect.top())
        right, bottom = min(work.width, rect.right()), min(work.height, rect.bottom())
        share = max(0, right - left) * max(0, bottom - top) / (work.width * work.height)
        found.append(
            Face(
                box=(round(left / scale), round(top / scale), round(right / scale), round(bottom / scale)),
                area_share=share,
                landmarks=tuple((p.x / scale, p.y / scale) for p in shape.parts()),
                descriptor=descriptor,
            )
        )
    found.sort(key=lambda face: face.area_share, reverse=True)
    return found


def face_distance(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Euclidean distance of two descriptors (same person below :func:`match_threshold`)."""
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b, strict=True)))


def image_difference(a, b) -> float:
    """Mean absolute difference of two decoded images (0-255) on a small gray copy: 0 for the same
    still picture sent twice, a few units for two frames of a live camera."""
    from PIL import ImageChops, ImageStat

    size = (64, 64)
    small_a = a.convert("L").resize(size)
    small_b = b.convert("L").resize(size)
    return float(ImageStat.Stat(ImageChops.difference(small_a, small_b)).mean[0])

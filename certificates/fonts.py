"""Fonts for the PDF certificates, pre-cut once so that WeasyPrint never touches the huge CJK files.

Why: Debian's Noto CJK fonts are 19-27 MB collections (.ttc) of 65,535 CFF glyphs. Used directly,
WeasyPrint copies the whole collection and subsets it on every render (12-15 s per certificate
with the fontTools subsetter, ~40 ms per font face with HarfBuzz). Instead we cut, once per
machine, small single-face OpenType files with HarfBuzz's subsetter (about a second in total) into
``VAR_DIR/fonts`` (a cache, regenerated when the source fonts or the character sets change):

- ``CertSerif`` regular: the certificate template's fixed text, Latin/punctuation and the 6,763
  GB2312 hanzi (almost every name): about 2.5 MB, cheap for WeasyPrint to subset again.
- ``CertSerif`` bold: only the template's fixed text (title, labels).
- ``CertSerifExt``: everything else the Noto Serif CJK SC face covers (the rest of the unified
  ideographs, Extension A, the 2,057 Extension B ideographs Noto carries, compatibility ideographs).
  Only embedded when a text needs one of them.

Characters Noto lacks (most of Extensions B-F, G, H) fall back to system fonts from Debian
packages, used as they are (TrueType ``glyf`` fonts are cheap to subset): ``HanaMinB``
(fonts-hanazono, Extensions B-F) and ``BabelStone Han`` (fonts-babelstone-han, Extensions G/H).
:func:`missing_characters` tells which characters no font in that chain can draw, so a caller
can refuse such a text instead of printing an empty box.

A font file is found through fontconfig (``fc-list``), so the Debian paths are not hard-coded.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

#: Bump when the cutting logic changes, to invalidate caches on every machine.
CUT_VERSION = 1

BASE_FAMILY = "CertSerif"
EXT_FAMILY = "CertSerifExt"

#: Primary source faces (package fonts-noto-cjk): fontconfig pattern per role.
NOTO_REGULAR = "Noto Serif CJK SC:style=Regular"
NOTO_BOLD = "Noto Serif CJK SC:style=Bold"

#: System fallback fonts for the ideographs Noto CJK lacks, in order: (family, Debian package).
FALLBACK_FONTS: tuple[tuple[str, str], ...] = (
    ("HanaMinB", "fonts-hanazono"),
    ("BabelStone Han", "fonts-babelstone-han"),
)

#: Debian package of the primary font (named in error messages).
PRIMARY_PACKAGE = "fonts-noto-cjk"

_BASIC_RANGES: tuple[tuple[int, int], ...] = (
    (0x0020, 0x007E),  # ASCII
    (0x00A0, 0x017F),  # Latin-1, Latin Extended-A (pinyin, foreign names)
    (0x01CD, 0x01DC),  # pinyin with caron
    (0x02C7, 0x02D9),  # spacing modifiers
    (0x0391, 0x03C9),  # Greek
    (0x2000, 0x206F),  # general punctuation (·, —, …)
    (0x2100, 0x215F),  # letterlike symbols, numero sign
    (0x2160, 0x217F),  # roman numerals
    (0x2460, 0x24FF),  # enclosed numbers
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0xFF00, 0xFFEF),  # full-width forms
)

# Ranges of characters that never need a glyph (format/control/space characters).
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Zs"}


class FontUnavailableError(RuntimeError):
    """A font the certificates need is not installed (the message names the Debian package)."""


@dataclass(frozen=True)
class SourceFace:
    path: Path
    index: int


@dataclass(frozen=True)
class PreparedFonts:
    """The cut fonts (paths in the cache directory) and what the whole chain can draw."""

    regular: Path
    bold: Path
    ext: Path
    fallbacks: tuple[tuple[str, SourceFace], ...]

    @property
    def fallback_families(self) -> tuple[str, ...]:
        return tuple(family for family, _face in self.fallbacks)

    def font_face_css(self) -> str:
        rules = [
            (BASE_FAMILY, 400, self.regular),
            (BASE_FAMILY, 700, self.bold),
            (EXT_FAMILY, 400, self.ext),
            *((family, 400, face.path) for family, face in self.fallbacks),
        ]
        return "\n".join(
            f"@font-face {{ font-family: {family}; font-weight: {weight}; src: url({path.as_uri()}); }}"
            for family, weight, path in rules
        )

    @property
    def font_family_css(self) -> str:
        families = [BASE_FAMILY, EXT_FAMILY, *self.fallback_families]
        return ", ".join(f'"{family}"' for family in families)


# --------------------------------------------------------------------------------------------
# Locating fonts with fontconfig
# --------------------------------------------------------------------------------------------


def find_font(pattern: str) -> SourceFace | None:
    """The file and face index of an installed font matching a fontconfig pattern exactly."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        raise FontUnavailableError(
            "fc-list not found: install the Debian package fontconfig (WeasyPrint needs it too)."
        )
    family = pattern.split(":", 1)[0]
    result = subprocess.run(  # noqa: S603 - fixed executable, no shell
        [fc_list, "--format", "%{file}|%{index}|%{family}\n", pattern],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    for line in sorted(result.stdout.splitlines()):
        path, _, rest = line.partition("|")
        index, _, families = rest.partition("|")
        if family in families.split(",") and path and Path(path).is_file():
            return SourceFace(Path(path), int(index or 0))
    return None


def _require_font(pattern: str) -> SourceFace:
    face = find_font(pattern)
    if face is None:
        raise FontUnavailableError(
            f"The certificate font {pattern!r} is not installed: install the Debian package "
            f"{PRIMARY_PACKAGE} (apt-get install {PRIMARY_PACKAGE}) and run fc-cache."
        )
    return face


# --------------------------------------------------------------------------------------------
# Character sets
# --------------------------------------------------------------------------------------------


@functools.cache
def gb2312_hanzi() -> frozenset[int]:
    """The 6,763 hanzi of GB 2312 (levels 1 and 2)."""
    chars = set()
    for high in range(0xB0, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                chars.add(ord(bytes((high, low)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return frozenset(chars)


def _basic_characters() -> set[int]:
    chars: set[int] = set()
    for first, last in _BASIC_RANGES:
        chars.update(range(first, last + 1))
    return chars


# --------------------------------------------------------------------------------------------
# HarfBuzz subsetter (ABI-mode cffi: the libraries WeasyPrint itself loads)
# --------------------------------------------------------------------------------------------

_HB_CDEF = """
typedef struct hb_blob_t hb_blob_t;
typedef struct hb_face_t hb_face_t;
typedef struct hb_set_t hb_set_t;
typedef struct hb_subset_input_t hb_subset_input_t;
typedef uint32_t hb_codepoint_t;
typedef uint32_t hb_tag_t;
hb_blob_t *hb_blob_create_from_file_or_fail(const char *file_name);
void hb_blob_destroy(hb_blob_t *blob);
const char *hb_blob_get_data(hb_blob_t *blob, unsigned int *length);
hb_face_t *hb_face_create(hb_blob_t *blob, unsigned int index);
void hb_face_destroy(hb_face_t *face);
hb_blob_t *hb_face_reference_blob(hb_face_t *face);
void hb_set_add(hb_set_t *set, hb_codepoint_t codepoint);
void hb_set_add_range(hb_set_t *set, hb_codepoint_t first, hb_codepoint_t last);
hb_tag_t hb_tag_from_string(const char *str, int len);
hb_subset_input_t *hb_subset_input_create_or_fail(void);
void hb_subset_input_destroy(hb_subset_input_t *input);
hb_set_t *hb_subset_input_unicode_set(hb_subset_input_t *input);
hb_set_t *hb_subset_input_set(hb_subset_input_t *input, int set_type);
void hb_subset_input_set_flags(hb_subset_input_t *input, unsigned value);
hb_face_t *hb_subset_or_fail(hb_face_t *source, const hb_subset_input_t *input);
"""
_HB_SUBSET_SETS_DROP_TABLE_TAG = 3
_HB_SUBSET_FLAGS_NOTDEF_OUTLINE = 0x40
_HB_SUBSET_FLAGS_NO_LAYOUT_CLOSURE = 0x200
# Layout and vertical tables are not needed for horizontal Chinese text; "name" is rewritten.
_DROP_TABLES = (b"GSUB", b"GPOS", b"BASE", b"JSTF", b"DSIG", b"VORG", b"vhea", b"vmtx", b"name")


@functools.cache
def _harfbuzz():
    from cffi import FFI

    ffi = FFI()
    ffi.cdef(_HB_CDEF)
    try:
        hb = ffi.dlopen("libharfbuzz.so.0")
        hb_subset = ffi.dlopen("libharfbuzz-subset.so.0")
    except OSError:
        return None
    return ffi, hb, hb_subset


def _ranges(codepoints: set[int]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for cp in sorted(codepoints):
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    return ranges


def _cut_with_harfbuzz(source: SourceFace, codepoints: set[int]) -> bytes | None:
    loaded = _harfbuzz()
    if loaded is None:
        return None
    ffi, hb, hbs = loaded
    blob = hb.hb_blob_create_from_file_or_fail(os.fsencode(source.path))
    if blob == ffi.NULL:
        return None
    face = hb.hb_face_create(blob, source.index)
    subset_input = hbs.hb_subset_input_create_or_fail()
    subset_face = result_blob = None
    try:
        unicodes = hbs.hb_subset_input_unicode_set(subset_input)
        for first, last in _ranges(codepoints):
            hb.hb_set_add_range(unicodes, first, last)
        drop = hbs.hb_subset_input_set(subset_input, _HB_SUBSET_SETS_DROP_TABLE_TAG)
        for tag in _DROP_TABLES:
            hb.hb_set_add(drop, hb.hb_tag_from_string(tag, -1))
        hbs.hb_subset_input_set_flags(
            subset_input, _HB_SUBSET_FLAGS_NOTDEF_OUTLINE | _HB_SUBSET_FLAGS_NO_LAYOUT_CLOSURE
        )
        subset_face = hbs.hb_subset_or_fail(face, subset_input)
        if subset_face == ffi.NULL:
            return None
        result_blob = hb.hb_face_reference_blob(subset_face)
        length = ffi.new("unsigned int *")
        data = hb.hb_blob_get_data(result_blob, length)
        return bytes(ffi.buffer(data, length[0])) if length[0] else None
    finally:
        if result_blob is not None:
            hb.hb_blob_destroy(result_blob)
        if subset_face is not None and subset_face != ffi.NULL:
            hb.hb_face_destroy(subset_face)
        hbs.hb_subset_input_destroy(subset_input)
        hb.hb_face_destroy(face)
        hb.hb_blob_destroy(blob)


def _cut_with_fonttools(source: SourceFace, codepoints: set[int]) -> bytes:
    """Slow path (about a minute) for systems without libharfbuzz-subset."""
    import io

    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.layout_features = []
    options.notdef_outline = True
    options.drop_tables += [tag.decode().strip() for tag in _DROP_TABLES if tag != b"name"]
    options.name_IDs = []
    font = TTFont(source.path, fontNumber=source.index)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=codepoints)
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def _with_family_name(font_bytes: bytes, family: str, weight: int) -> bytes:
    """Give the cut font its own family name so it never shadows the system Noto font."""
    import io

    from fontTools.ttLib import TTFont, newTable

    font = TTFont(io.BytesIO(font_bytes), lazy=True)
    style = "Bold" if weight >= 700 else "Regular"
    name = newTable("name")
    name.names = []
    for name_id, value in (
        (1, family),
        (2, style),
        (3, f"{family}-{style};cut{CUT_VERSION}"),
        (4, f"{family} {style}"),
        (6, f"{family}-{style}"),
    ):
        name.setName(value, name_id, 3, 1, 0x409)
    font["name"] = name
    if "OS/2" in font:
        font["OS/2"].usWeightClass = weight
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def cut_font(source: SourceFace, codepoints: set[int], *, family: str, weight: int) -> bytes:
    data = _cut_with_harfbuzz(source, codepoints)
    if data is None:
        data = _cut_with_fonttools(source, codepoints)
    return _with_family_name(data, family, weight)


# --------------------------------------------------------------------------------------------
# Cache
# --------------------------------------------------------------------------------------------


def font_cache_dir() -> Path:
    configured = getattr(settings, "CERTIFICATE_FONT_DIR", None)
    if configured:
        return Path(configured)
    return Path(settings.VAR_DIR) / "fonts"


def _source_key(source: SourceFace) -> dict:
    stat = source.path.stat()
    return {"path": str(source.path), "index": source.index, "size": stat.st_size, "mtime": stat.st_mtime}


def _cached_cut(
    cache_dir: Path,
    source: SourceFace,
    codepoints: set[int] | Callable[[], set[int]],
    *,
    family: str,
    weight: int,
    recipe: str = "",
) -> Path:
    """The cut font's path in the cache, cutting it first if needed.

    ``codepoints`` may be a function, called only on a cache miss; then ``recipe`` (with the
    source font's identity) must determine the character set, as it replaces it in the key.
    """
    chars = recipe if callable(codepoints) else ",".join(map(str, sorted(codepoints)))
    key = json.dumps(
        {
            "version": CUT_VERSION,
            "source": _source_key(source),
            "family": family,
            "weight": weight,
            "chars": hashlib.sha256(chars.encode()).hexdigest(),
        },
        sort_keys=True,
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    slug = re.sub(r"[^A-Za-z0-9]+", "-", family).strip("-")
    target = cache_dir / f"{slug}-{weight}-{digest}.otf"
    if target.is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    if callable(codepoints):
        codepoints = codepoints()
    data = cut_font(source, codepoints, family=family, weight=weight)
    # Atomic publish: concurrent workers may cut the same font; the last rename wins, same bytes.
    fd, tmp_name = tempfile.mkstemp(dir=cache_dir, prefix=".cut-", suffix=".otf")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp_name, 0o644)  # readable by the web and worker processes alike
    os.replace(tmp_name, target)
    return target


def _prune_stale_cuts(cache_dir: Path, current: set[Path]) -> None:
    """Remove cuts of older templates or fonts (running processes hold their own copies)."""
    for path in cache_dir.glob("CertSerif*.otf"):
        if path not in current:
            path.unlink(missing_ok=True)


@functools.cache
def _cmap(path: str, index: int) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    font = TTFont(path, fontNumber=index, lazy=True)
    return frozenset(font.getBestCmap())


_prepare_lock = threading.Lock()


@functools.cache
def _prepared_fonts_cached(fixed_text: str) -> PreparedFonts:
    regular = _require_font(NOTO_REGULAR)
    bold = _require_font(NOTO_BOLD)
    cache_dir = font_cache_dir()
    fixed = {ord(ch) for ch in fixed_text} | _basic_characters()
    base_chars = fixed | gb2312_hanzi()

    def ext_chars() -> set[int]:
        # Everything else Noto draws except Hangul (Korean names are written in hanzi on Chinese
        # documents): 10 MB instead of 14 MB. Only computed when the cut is not cached.
        noto_chars = _cmap(str(regular.path), regular.index)
        return {cp for cp in noto_chars - base_chars if not _is_hangul(cp)}

    base_key = hashlib.sha256(",".join(map(str, sorted(base_chars))).encode()).hexdigest()
    fonts = PreparedFonts(
        regular=_cached_cut(cache_dir, regular, base_chars, family=BASE_FAMILY, weight=400),
        bold=_cached_cut(cache_dir, bold, fixed, family=BASE_FAMILY, weight=700),
        ext=_cached_cut(
            cache_dir,
            regular,
            ext_chars,
            family=EXT_FAMILY,
            weight=400,
            recipe=f"source cmap minus hangul minus base {base_key}",
        ),
        fallbacks=_fallback_cuts(cache_dir, regular, base_chars, base_key),
    )
    _prune_stale_cuts(
        cache_dir, {fonts.regular, fonts.bold, fonts.ext, *(face.path for _family, face in fonts.fallbacks)}
    )
    return fonts


def _fallback_cuts(
    cache_dir: Path, regular: SourceFace, base_chars: set[int], base_key: str
) -> tuple[tuple[str, SourceFace], ...]:
    """The installed fallback fonts, each cut to the characters no earlier font of the chain draws.

    WeasyPrint reads the whole font file of every face a document uses (and the face stays mapped):
    BabelStone Han is 51 MB, of which a fifth is characters Noto and HanaMinB lack. Families
    ``CertSerif-<fallback>``, cached like the other cuts."""
    cuts = []
    sources = [regular]
    for family, _package in FALLBACK_FONTS:
        face = find_font(family)
        if face is None:
            continue
        earlier = tuple(sources)

        def chars(face=face, earlier=earlier) -> set[int]:
            covered = set(base_chars)
            for source in earlier:
                covered |= _cmap(str(source.path), source.index)
            return set(_cmap(str(face.path), face.index)) - covered

        cut_family = f"{BASE_FAMILY}-{re.sub(r'[^A-Za-z0-9]+', '', family)}"
        recipe = f"{family} minus base {base_key} minus " + ",".join(
            json.dumps(_source_key(source), sort_keys=True) for source in earlier
        )
        path = _cached_cut(cache_dir, face, chars, family=cut_family, weight=400, recipe=recipe)
        cuts.append((cut_family, SourceFace(path, 0)))
        sources.append(face)
    return tuple(cuts)


def prepared_fonts(fixed_text: str) -> PreparedFonts:
    """The cut fonts for a page whose fixed text is ``fixed_text``.

    Created on first use on a machine (about a second), then read from the disk cache; kept for
    the life of the process.
    """
    with _prepare_lock:
        return _prepared_fonts_cached(fixed_text)


def _is_hangul(cp: int) -> bool:
    return (
        0x1100 <= cp <= 0x11FF or 0x3130 <= cp <= 0x318F or 0xA960 <= cp <= 0xA97F or 0xAC00 <= cp <= 0xD7FF
    )


# --------------------------------------------------------------------------------------------
# Coverage
# --------------------------------------------------------------------------------------------


def _coverages(fonts: PreparedFonts) -> Iterator[frozenset[int]]:
    """Character sets of the font chain in order; each is read (then cached) only when reached."""
    yield _cmap(str(fonts.regular), 0)
    yield _cmap(str(fonts.ext), 0)
    for _family, face in fonts.fallbacks:
        yield _cmap(str(face.path), face.index)


def missing_characters(text: str, fonts: PreparedFonts) -> list[str]:
    """The distinct characters of ``text`` that no certificate font can draw (in text order).

    Spaces and invisible format characters need no glyph and are never reported; variation
    selectors (ideographic variation sequences) are drawn as their base character.
    """
    needed = [
        ch
        for ch in dict.fromkeys(text)
        if unicodedata.category(ch) not in _INVISIBLE_CATEGORIES and not _is_variation_selector(ord(ch))
    ]
    for covered in _coverages(fonts):
        if not needed:
            break
        needed = [ch for ch in needed if ord(ch) not in covered]
    return needed


def fallback_samples(fonts: PreparedFonts) -> str:
    """One ideograph from each fallback font that no earlier font of the chain draws (for warming
    up: the first use of a fallback font reads its character map and opens the face)."""
    covered = set(_cmap(str(fonts.regular), 0)) | _cmap(str(fonts.ext), 0)
    samples = []
    for _family, face in fonts.fallbacks:
        own = _cmap(str(face.path), face.index)
        sample = next((cp for cp in sorted(own) if cp >= 0x3400 and cp not in covered), None)
        if sample is not None:
            samples.append(chr(sample))
        covered |= own
    return "".join(samples)


def _is_variation_selector(cp: int) -> bool:
    return 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF

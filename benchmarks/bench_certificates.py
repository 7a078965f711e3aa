"""PDF certificates: the naive WeasyPrint way against the portal's renderer (certificates/rendering.py).

Figures, side by side in one run:
- naive_fonttools_ms, naive_fonttools_peak_mib: one certificate the naive way (below) on a machine
  without libharfbuzz-subset, where WeasyPrint subsets the 20+ MB font collection with fontTools.
  Rendered once.
- naive_single_ms: one certificate, same page, WeasyPrint used naively with the system Noto Serif
  CJK font (the whole .ttc collection is copied and subset on every render, here by HarfBuzz) and
  images inlined as data: URIs. Rendered twice (the second, warm render is reported).
- single_ms: one certificate with the portal renderer, warm worker (median of 30).
- bulk_per_s: a 200-certificate print run into one PDF (one chunk per forked worker, at most
  100 pages each, joined with pypdf).
- bulk_one_process_per_s: the same run kept in one process (workers=1), for comparison.
- bulk_cpu_ms_per_page: CPU time per page of that one-process run (less sensitive than wall
  time to other load on the machine).
- peak_mib: peak RSS of the largest process of the fast path (the renderer process or one of its
  workers), measured in a fresh process that never ran the naive path.

Each path runs in its own subprocess so that neither the naive run's memory nor its fontconfig
state pollutes the other's figures.
"""

import base64
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

NAMES = ["王小明", "李娜", "张𠮷", "欧阳建国", "司马䶮", "陈𡈽", "刘德华", "赵丽颖"]


def _seal_png() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((12, 12, 388, 388), outline=(200, 20, 20, 230), width=14)
    draw.regular_polygon((200, 200, 70), 5, fill=(200, 20, 20, 230))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _photo_jpeg() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (413, 567), (196, 210, 232))
    ImageDraw.Draw(image).ellipse((110, 90, 300, 330), fill=(236, 200, 170))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=88)
    return out.getvalue()


def _items(count: int):
    from certificates.rendering import CertificateData

    seal, photo = _seal_png(), _photo_jpeg()
    return [
        CertificateData(
            number=f"AQ2026{index:06d}",
            holder_name=NAMES[index % len(NAMES)],
            id_number_masked="110101********123X",
            certificate_type_label="安全生产管理人员",
            training_category_label="非高危行业生产经营单位",
            hours=32,
            issue_date=date(2026, 11, 30),
            issuer="某省安全生产协会",
            unit_name="某市示范机械制造有限公司",
            verify_url=f"https://portal.example.cn/certificates/verify/AQ2026{index:06d}/?k=Zx81",
            photo=photo,
            seal=seal,
        )
        for index in range(count)
    ]


def _peak_mib() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def _quiet_weasyprint() -> None:
    import logging

    for name in ("weasyprint", "weasyprint.progress", "fontTools"):
        logging.getLogger(name).setLevel(logging.ERROR)


def measure_fast() -> dict:
    """The portal renderer, in this fresh process."""
    from certificates import rendering

    _quiet_weasyprint()
    items = _items(200)
    rendering.warm_up()
    single = [items[0]]
    for _ in range(3):
        rendering.render_certificates_pdf(single)
    samples = []
    for index in range(30):
        start = time.perf_counter()
        rendering.render_certificate_pdf(items[index % len(items)])
        samples.append((time.perf_counter() - start) * 1000)
    start = time.perf_counter()
    pdf = rendering.render_certificates_pdf(items)
    bulk_s = time.perf_counter() - start
    from pypdf import PdfReader

    assert len(PdfReader(io.BytesIO(pdf)).pages) == len(items)
    start, cpu_start = time.perf_counter(), time.process_time()
    rendering.render_certificates_pdf(items, processes=1)
    bulk_one_s = time.perf_counter() - start
    bulk_cpu_ms = (time.process_time() - cpu_start) * 1000 / len(items)
    return {
        "single_ms": statistics.median(samples),
        "bulk_per_s": len(items) / bulk_s,
        "bulk_one_process_per_s": len(items) / bulk_one_s,
        "bulk_cpu_ms_per_page": bulk_cpu_ms,
        "peak_mib": _peak_mib(),
    }


def measure_naive_fonttools() -> dict:
    """The naive way on a machine without libharfbuzz-subset (``naive_fonttools_*``):
    WeasyPrint subsets the Noto CJK collection with fontTools. One render, with its peak memory."""
    from weasyprint.pdf import fonts as pdf_fonts

    pdf_fonts.harfbuzz_subset = None
    result = measure_naive(renders=1)
    return {"naive_fonttools_ms": result["naive_first_ms"], "naive_fonttools_peak_mib": _peak_mib()}


def measure_naive(renders: int = 2) -> dict:
    """The same page rendered the naive way: system font, nothing prepared, data: URIs."""
    from django.template.loader import get_template
    from weasyprint import CSS, HTML

    from certificates import rendering

    _quiet_weasyprint()
    item = _items(1)[0]

    def data_uri(data: bytes, mime: str) -> str:
        return f"data:{mime};base64,{base64.b64encode(data).decode()}"

    context = {
        "number": item.number,
        "holder_name": item.holder_name,
        "id_number_masked": item.id_number_masked,
        "certificate_type_label": item.certificate_type_label,
        "training_category_label": item.training_category_label,
        "hours": str(item.hours),
        "issue_date_text": f"{item.issue_date.year}年{item.issue_date.month}月{item.issue_date.day}日",
        "issuer": item.issuer,
        "unit_name": item.unit_name,
        "verify_url": item.verify_url,
        "photo_url": data_uri(item.photo, "image/jpeg"),
        "seal_url": data_uri(item.seal, "image/png"),
        "qr_url": data_uri(rendering.qr_png(item.verify_url), "image/png"),
    }
    css = get_template(rendering.STYLESHEET_NAME).template.source
    css = "html { font-family: 'Noto Serif CJK SC'; }\n" + css

    def render() -> bytes:
        html = get_template(rendering.TEMPLATE_NAME).render({"certificates": [context]})
        return HTML(string=html).write_pdf(stylesheets=[CSS(string=css)])

    samples = []
    for _ in range(renders):
        start = time.perf_counter()
        render()
        samples.append((time.perf_counter() - start) * 1000)
    return {"naive_single_ms": samples[-1], "naive_first_ms": samples[0]}


def _in_subprocess(which: str) -> dict:
    root = Path(__file__).resolve().parent.parent
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "portal.settings.test"),
    }
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "benchmarks.bench_certificates", which],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"bench_certificates {which} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def run(report) -> None:
    fast = _in_subprocess("fast")
    naive = _in_subprocess("naive")
    fonttools = _in_subprocess("naive_fonttools")
    report("naive_fonttools_ms", fonttools["naive_fonttools_ms"], "ms")
    report("naive_fonttools_peak_mib", fonttools["naive_fonttools_peak_mib"], "MiB")
    report("naive_single_ms", naive["naive_single_ms"], "ms")
    report("single_ms", fast["single_ms"], "ms")
    report("bulk_per_s", fast["bulk_per_s"], "per s")
    report("bulk_one_process_per_s", fast["bulk_one_process_per_s"], "per s")
    report("bulk_cpu_ms_per_page", fast["bulk_cpu_ms_per_page"], "ms")
    report("peak_mib", fast["peak_mib"], "MiB")


if __name__ == "__main__":
    from benchmarks.harness import django_setup

    django_setup()
    measured = {"fast": measure_fast, "naive": measure_naive, "naive_fonttools": measure_naive_fonttools}[
        sys.argv[1]
    ]()
    print(json.dumps(measured))

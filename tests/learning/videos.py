"""Tiny real videos made with Debian's ffmpeg for the tests (test pattern and a tone, a few seconds),
and ffprobe's view of a file, independent of learning/video.py."""

import json
import re
import subprocess
from pathlib import Path


def video_make(
    path: Path,
    *,
    seconds: float = 3,
    size: str = "320x240",
    rate: int = 15,
    video_codec: str = "mpeg4",
    audio_codec: str = "aac",
    faststart: bool = False,
) -> Path:
    """A video of the test pattern with a 440 Hz tone. MP4s are written the plain way, index at the
    end (``faststart=False``), as cameras and editors often do."""
    args = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    args += ["-f", "lavfi", "-i", f"testsrc=size={size}:rate={rate}:duration={seconds}"]
    args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    args += ["-c:v", video_codec, "-c:a", audio_codec, "-shortest"]
    if faststart:
        args += ["-movflags", "+faststart"]
    subprocess.run([*args, str(path)], check=True, capture_output=True, timeout=120)
    return path


def probe(path: Path) -> dict:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return json.loads(result.stdout)


def codecs(path: Path) -> dict[str, str]:
    return {stream["codec_type"]: stream["codec_name"] for stream in probe(path)["streams"]}


def top_level_atoms(path: Path) -> list[str]:
    """The MP4 atoms ffprobe's trace reports at the top level, in file order."""
    result = subprocess.run(
        ["ffprobe", "-v", "trace", "-i", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    # e.g. "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x...] type:'moov' parent:'root' sz: 2203 ..."
    return re.findall(r"type:'(\w{4})' parent:'root'", result.stderr)

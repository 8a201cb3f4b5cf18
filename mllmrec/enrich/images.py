"""Item images from a local path or a URL (fetched once into a local cache), as RGB PIL
images no larger than a pixel budget. Failures raise ItemFailure with a clear message."""
from __future__ import annotations

import hashlib
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from mllmrec.enrich.report import MISSING_IMAGE, UNREADABLE_IMAGE, ItemFailure


def is_url(ref: str) -> bool:
    return ref.startswith(("http://", "https://"))


def cached_path(url: str, cache_dir: Path) -> Path:
    """Where a URL's bytes are cached: a hash of the URL, keeping its suffix."""
    suffix = Path(url.split("?", 1)[0]).suffix[:8]
    return cache_dir / f"{hashlib.sha256(url.encode()).hexdigest()[:32]}{suffix}"


def fetch(url: str, cache_dir: Path, timeout: float) -> Path:
    """Download ``url`` into the cache unless already there; return the local file."""
    import requests

    path = cached_path(url, cache_dir)
    if path.is_file():
        return path
    try:
        resp = requests.get(url, timeout=timeout)
    except requests.RequestException as exc:
        raise ItemFailure(MISSING_IMAGE, f"cannot fetch image {url}: {exc}") from None
    if resp.status_code != 200:
        raise ItemFailure(MISSING_IMAGE, f"cannot fetch image {url}: HTTP {resp.status_code}")
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(resp.content)
    tmp.replace(path)  # atomic: a crash never leaves a half-written cache entry
    return path


def load_image(ref: str, cache_dir: Path, max_pixels: int, timeout: float = 20.0) -> Image.Image:
    """Open an item's image as RGB, downscaled (aspect kept) to at most ``max_pixels``."""
    path = fetch(ref, cache_dir, timeout) if is_url(ref) else Path(ref)
    if not path.is_file():
        raise ItemFailure(MISSING_IMAGE, f"image file not found: {path}")
    try:
        with Image.open(path) as img:
            img.load()
            rgb = img.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ItemFailure(UNREADABLE_IMAGE, f"cannot read image {path}: {exc}") from None
    w, h = rgb.size
    if w * h > max_pixels:
        scale = (max_pixels / (w * h)) ** 0.5
        rgb = rgb.resize((max(1, int(w * scale)), max(1, int(h * scale))), Image.Resampling.BICUBIC)
    return rgb

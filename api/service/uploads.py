"""Uploaded files made safe before anything reads them.

A scenario arrives as a ``.zip`` of the docs/formats.md folder, an ``.xlsx`` workbook (itself a zip) or JSON.
A zip is checked before a byte is written: no absolute path, no ``..``, no drive letter, no symlink,
no encrypted member, no two members of one name; at most ``max_members`` members, at most
``max_unzipped`` bytes in all and no member above 1 MiB compressed more than ``max_ratio`` times (a
decompression bomb).  Declared sizes are not trusted: extraction counts the bytes it writes and stops
at the declared size.  Unsafe content is `UploadRejected` with status 422, too much of it status 413.
"""

from __future__ import annotations

import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

RATIO_FLOOR = 2**20  # members smaller than this are not judged by their compression ratio
IGNORED = ("__MACOSX/", ".DS_Store")  # what macOS adds to a zip of a folder
CHUNK = 2**20


class UploadRejected(Exception):
    """An upload refused before it is read as a scenario: ``status`` 413 (too large) or 422."""

    def __init__(self, status: int, message: str, file: str = "upload"):
        super().__init__(message)
        self.status = status
        self.message = message
        self.file = file


@dataclass(frozen=True)
class ZipLimits:
    max_unzipped: int
    max_members: int
    max_ratio: float


def safe_members(zf: zipfile.ZipFile, limits: ZipLimits, label: str) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """The file members of ``zf`` with their checked relative paths; raises `UploadRejected`."""
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise UploadRejected(413, f"the zip holds {len(infos)} members; at most {limits.max_members} are accepted",
                             label)
    seen: set[str] = set()
    members, total = [], 0
    for info in infos:
        name = info.filename
        if name.startswith(IGNORED[0]) or PurePosixPath(name.replace("\\", "/")).name == IGNORED[1]:
            continue
        path = _relative_path(name, label)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise UploadRejected(422, f"the zip member {name!r} is a symbolic link", label)
        if info.flag_bits & 0x1:
            raise UploadRejected(422, f"the zip member {name!r} is encrypted", label)
        if info.is_dir():
            continue
        key = str(path).casefold()
        if key in seen:
            raise UploadRejected(422, f"the zip names {name!r} twice", label)
        seen.add(key)
        if info.file_size > RATIO_FLOOR and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            ratio = info.file_size / max(info.compress_size, 1)
            raise UploadRejected(413, f"the zip member {name!r} is compressed {ratio:,.0f} times (at most "
                                      f"{limits.max_ratio:,.0f}): refused as a decompression bomb", label)
        total += info.file_size
        if total > limits.max_unzipped:
            raise UploadRejected(413, f"the zip unpacks to more than {limits.max_unzipped:,} bytes", label)
        members.append((info, path))
    return members


def _relative_path(name: str, label: str) -> PurePosixPath:
    text = name.replace("\\", "/")
    path = PurePosixPath(text)
    if text.startswith("/") or (len(text) > 1 and text[1] == ":") or path.is_absolute():
        raise UploadRejected(422, f"the zip member {name!r} has an absolute path", label)
    if any(part == ".." for part in path.parts):
        raise UploadRejected(422, f"the zip member {name!r} points outside the folder ('..')", label)
    if "\x00" in text:
        raise UploadRejected(422, f"the zip member {name!r} has a NUL byte in its name", label)
    return PurePosixPath(*[p for p in path.parts if p not in ("", ".")])


def extract_zip(source: Path, target: Path, limits: ZipLimits, label: str) -> Path:
    """Extract a scenario zip into ``target`` and return the scenario folder: ``target`` itself, or its
    single top-level folder when the zip holds one (as zipping a folder gives)."""
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UploadRejected(422, f"not a readable zip file: {exc}", label) from None
    with zf:
        members = safe_members(zf, limits, label)
        if not members:
            raise UploadRejected(422, "the zip holds no files", label)
        target.mkdir(parents=True, exist_ok=True)
        root = target.resolve()
        budget = limits.max_unzipped
        for info, rel in members:
            dest = (root / Path(*rel.parts)).resolve()
            if root != dest and root not in dest.parents:  # belt and braces over _relative_path
                raise UploadRejected(422, f"the zip member {info.filename!r} points outside the folder", label)
            dest.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            try:
                with zf.open(info) as src, open(dest, "wb") as out:
                    while chunk := src.read(CHUNK):
                        written += len(chunk)
                        budget -= len(chunk)
                        if written > info.file_size or budget < 0:
                            raise UploadRejected(413, f"the zip member {info.filename!r} unpacks to more than it "
                                                      "declares or than the limit", label)
                        out.write(chunk)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError) as exc:
                raise UploadRejected(422, f"the zip member {info.filename!r} cannot be read: {exc}", label) from None
    return _scenario_root(target)


def _scenario_root(folder: Path) -> Path:
    if (folder / "scenario.yaml").exists():
        return folder
    entries = [p for p in folder.iterdir()]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return folder  # the loader then says what is missing


def is_workbook(zf: zipfile.ZipFile) -> bool:
    names = set(zf.namelist())
    return "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names)


def check_workbook(source: Path, limits: ZipLimits, label: str) -> None:
    """An ``.xlsx`` is a zip too: the same size, count and ratio checks before openpyxl unpacks it."""
    try:
        with zipfile.ZipFile(source) as zf:
            safe_members(zf, limits, label)
    except zipfile.BadZipFile as exc:
        raise UploadRejected(422, f"not a readable workbook: {exc}", label) from None


def sniff(path: Path, filename: str | None) -> str:
    """``zip`` (a scenario folder), ``xlsx`` or ``json`` from the content, the name only breaking ties."""
    suffix = Path(filename or "").suffix.lower()
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as zf:
                if is_workbook(zf):
                    return "xlsx"
        except zipfile.BadZipFile:
            pass
        return "zip"
    with open(path, "rb") as fh:
        head = fh.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"{", b"[")) or suffix == ".json":
        return "json"
    if suffix in (".zip", ".xlsx", ".xlsm"):
        raise UploadRejected(422, f"the file is named {suffix} but is not a readable zip file", filename or "upload")
    raise UploadRejected(422, "a scenario is a .zip of the docs/formats.md folder, an .xlsx workbook or JSON",
                         filename or "upload")


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)

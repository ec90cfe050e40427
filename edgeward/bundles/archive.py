"""A bundle as one byte stream for delivery: an uncompressed tar of its two files.

Unpacking accepts exactly a manifest and a weights file as regular members within size
limits, so a delivered archive cannot write anywhere else or carry anything else.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from edgeward.bundles.durable import sync_directory, write_new_file
from edgeward.bundles.errors import BundleCorrupt

MEMBERS = ("manifest.json", "weights.safetensors")
MAX_MEMBER_BYTES = 512 * 1024 * 1024


def pack_bundle(directory: Path) -> bytes:
    """Return the bundle in `directory` as tar bytes (members in a fixed order)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name in MEMBERS:
            data = (directory / name).read_bytes()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o444
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def unpack_bundle(archive_path: Path, target: Path) -> None:
    """Extract a delivered archive into the new folder `target` (raises `BundleCorrupt`).

    The files and the folder are flushed to disk, so once `target` is renamed into place and
    named active, a power cut cannot leave it with torn weights.
    """
    try:
        with tarfile.open(archive_path, mode="r:") as archive:
            members = archive.getmembers()
            names = sorted(m.name for m in members)
            if names != sorted(MEMBERS):
                raise BundleCorrupt(f"the archive holds {names}, expected {list(MEMBERS)}")
            target.mkdir(parents=True)
            for member in members:
                if not member.isfile() or member.size > MAX_MEMBER_BYTES:
                    raise BundleCorrupt(f"archive member {member.name} is not a plain file")
                source = archive.extractfile(member)
                if source is None:
                    raise BundleCorrupt(f"archive member {member.name} cannot be read")
                write_new_file(target / member.name, source.read())
            sync_directory(target)
    except (tarfile.TarError, OSError, EOFError) as err:
        raise BundleCorrupt(f"the delivered archive cannot be read: {err}") from err

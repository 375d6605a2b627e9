"""Files of onboarding: a handbook an admin attaches to a template task, a document a new hire uploads.

Kept in the database (every app server behind a proxy serves the same file, and a backup holds them), checked
on the way in — an allowed type by its name *and* its first bytes, a size limit — and handed out only by the
services that have checked who asks (`read_material` takes the plan the asker may see).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from sqlmodel import Session

from models.onboard import Material
from models.user import User
from services.platform.errors import NotFound, ValidationError

MAX_BYTES = 10 * 1024 * 1024  # 10 MiB: a scanned certificate or a handbook, not a video
ALLOWED = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
}
# What each type's file starts with: a renamed .exe or .html is refused whatever its name says.
_MAGIC = {
    "pdf": (b"%PDF-",),
    "docx": (b"PK\x03\x04",),
    "xlsx": (b"PK\x03\x04",),
    "pptx": (b"PK\x03\x04",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
}
UPLOAD_TYPES = sorted(ALLOWED)  # for st.file_uploader(type=…)


@dataclass(frozen=True)
class FileData:
    filename: str
    mime_type: str
    content: bytes


def safe_filename(name: str) -> str:
    """The file's own name without folders, control characters or characters a download header or a file system
    would trip on; never empty."""
    base = unicodedata.normalize("NFC", re.split(r"[\\/]", name or "")[-1])
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = re.sub(r'[<>:"|?*;]', "_", base).strip(" .")
    return base[:200] or "file"


def check_file(*, filename: str, content: bytes) -> FileData:
    """The file as it will be kept, or a ValidationError (field "file") for a wrong type or size."""
    name = safe_filename(filename)
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in ALLOWED:
        raise ValidationError.single("file", "err.file_type", allowed=", ".join(UPLOAD_TYPES))
    if not content:
        raise ValidationError.single("file", "err.file_empty")
    if len(content) > MAX_BYTES:
        raise ValidationError.single("file", "err.file_too_large", mb=MAX_BYTES // (1024 * 1024))
    if not content.startswith(_MAGIC[ext]):
        raise ValidationError.single("file", "err.file_type", allowed=", ".join(UPLOAD_TYPES))
    return FileData(name, ALLOWED[ext], content)


def store_material(
    *, session: Session, filename: str, content: bytes, actor: User | None, plan_id: int | None = None
) -> Material:
    """Check and keep a file (no commit): `actor` None when the new hire uploads through their link."""
    data = check_file(filename=filename, content=content)
    row = Material(
        plan_id=plan_id,
        filename=data.filename,
        mime_type=data.mime_type,
        size=len(data.content),
        sha256=hashlib.sha256(data.content).hexdigest(),
        content=data.content,
        uploaded_by_id=actor.id if actor is not None else None,
    )
    session.add(row)
    session.flush()
    return row


def read_material(*, session: Session, material_id: int, plan_id: int | None) -> FileData:
    """A kept file, for a caller that has already checked who asks: `plan_id` is the plan the asker may see (a
    new hire's upload belongs to it), None for template materials. Anything else is NotFound."""
    row = session.get(Material, material_id)
    if row is None or (row.plan_id is not None and row.plan_id != plan_id):
        raise NotFound()
    return FileData(row.filename, row.mime_type, row.content)

"""The model artifact contract: one skops file plus ``metadata.json``, written atomically, loaded safely.

Layout of an artifact directory (``models/`` by default)::

    model.skops      the fitted scikit-learn estimator, canonical skops bytes (same model -> same bytes)
    metadata.json    name, version, digest ("sha256:<hex>" of model.skops), git_commit, data_digest,
                     params, metrics, library_versions, input_schema, classes, examples, ...

Loading never unpickles: skops rebuilds only types it knows plus the explicit ``TRUSTED_TYPES`` list
below, and only after the file's digest and the library versions have been checked.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import re
import tempfile
import zipfile
from collections.abc import Mapping
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

MODEL_FILE = "model.skops"
METADATA_FILE = "metadata.json"

# Types skops does not trust by default that our supported estimators need. Anything else found in a
# model file is refused (UntrustedTypeError) rather than silently trusted.
TRUSTED_TYPES: tuple[str, ...] = (
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",
)

# Libraries whose versions must match between training and serving, and how strictly:
# "exact" compares the full version, "minor" compares major.minor.
VERSION_RULES: dict[str, str] = {"scikit-learn": "exact", "skops": "minor", "numpy": "minor"}

_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class ArtifactError(Exception):
    """Base class: the artifact cannot be used. The message says which file and why."""


class ArtifactNotFoundError(ArtifactError):
    """The artifact directory, model file or metadata file is missing."""


class MetadataError(ArtifactError):
    """metadata.json is unreadable or lacks a required field."""


class DigestMismatchError(ArtifactError):
    """The model file's sha256 differs from the digest recorded (or expected)."""


class LibraryVersionError(ArtifactError):
    """The running libraries differ from those the model was trained with."""


class UntrustedTypeError(ArtifactError):
    """The model file names a type outside skops' defaults and TRUSTED_TYPES."""


REQUIRED_METADATA = (
    "name",
    "version",
    "digest",
    "model_file",
    "library_versions",
    "input_schema",
    "classes",
)


# --------------------------------------------------------------------------- digests and atomic writes
def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def file_digest(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return "sha256:" + h.hexdigest()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one, never a part."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def json_bytes(obj: Any) -> bytes:
    """Stable JSON: sorted keys, two-space indent, trailing newline."""
    return (json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> None:
    atomic_write_bytes(path, json_bytes(obj))


# --------------------------------------------------------------------------- canonical skops bytes
def _canonical_skops(raw: bytes) -> bytes:
    """Rewrite a skops zip so equal models give equal bytes.

    skops names array entries and ``__id__`` fields after ``id()`` of objects, and stamps the zip with
    the current time. Both are renumbered in order of first appearance and the timestamps fixed.
    """
    src = zipfile.ZipFile(io.BytesIO(raw))
    schema = src.read("schema.json").decode()
    ids = re.findall(r'"__id__": (\d+)', schema)
    ids += [m.group(1) for name in src.namelist() if (m := re.fullmatch(r"(\d+)\.npy", name))]
    order: dict[str, str] = {}
    for m in re.finditer(r"\d+", schema):
        value = m.group(0)
        if value in ids and value not in order:
            order[value] = str(len(order) + 1)
    for value in ids:  # array files not mentioned in the schema text (should not happen, kept safe)
        order.setdefault(value, str(len(order) + 1))

    def renumber(text: str) -> str:
        return re.sub(r"\d+", lambda m: order.get(m.group(0), m.group(0)), text)

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        entries = {renumber(name): src.read(name) for name in src.namelist() if name != "schema.json"}
        entries["schema.json"] = renumber(schema).encode()
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, entries[name], compresslevel=6)
    return out.getvalue()


def dumps_model(model: Any) -> bytes:
    """Serialise a fitted estimator to canonical skops bytes."""
    import skops.io as sio

    return _canonical_skops(sio.dumps(model))


def loads_model(data: bytes) -> Any:
    """Rebuild an estimator from skops bytes, trusting only skops' defaults and TRUSTED_TYPES."""
    import skops.io as sio

    untrusted = sio.get_untrusted_types(data=data)
    refused = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if refused:
        raise UntrustedTypeError(f"model file names untrusted types: {', '.join(refused)}")
    return sio.loads(data, trusted=list(untrusted))


# --------------------------------------------------------------------------- library versions
def _dist_version(name: str) -> str:
    try:
        return importlib_metadata.version(name)
    except importlib_metadata.PackageNotFoundError:
        return "missing"


def library_versions() -> dict[str, str]:
    versions = {name: _dist_version(name) for name in sorted(VERSION_RULES)}
    versions["pandas"] = _dist_version("pandas")
    versions["python"] = platform.python_version()
    return versions


def check_library_versions(recorded: Mapping[str, str]) -> None:
    """Raise LibraryVersionError naming every library whose version breaks VERSION_RULES."""
    current = library_versions()
    problems = []
    for name, rule in VERSION_RULES.items():
        want, have = str(recorded.get(name, "")), current[name]
        if not want:
            problems.append(f"{name}: not recorded in metadata")
            continue
        same = want == have if rule == "exact" else want.split(".")[:2] == have.split(".")[:2]
        if not same:
            problems.append(f"{name}: trained with {want}, running {have} (rule: {rule})")
    if problems:
        raise LibraryVersionError("library versions differ from training: " + "; ".join(problems))


# --------------------------------------------------------------------------- write and load
def write_artifact(
    model: Any, metadata: Mapping[str, Any], out_dir: str | os.PathLike[str]
) -> dict[str, Any]:
    """Write the model file, then metadata.json (which completes the artifact), both atomically.

    ``metadata`` supplies everything but ``digest``, ``model_file`` and ``library_versions``, which are
    computed here. Returns the full metadata written.
    """
    out = Path(out_dir)
    data = dumps_model(model)
    full = dict(metadata)
    full.update(
        digest=sha256_digest(data),
        model_file=MODEL_FILE,
        library_versions=library_versions(),
        size_bytes=len(data),
    )
    full.setdefault("version", full["digest"].split(":", 1)[1][:12])
    missing = [key for key in REQUIRED_METADATA if key not in full]
    if missing:
        raise MetadataError(f"metadata lacks required field(s): {', '.join(missing)}")
    # Drop a stale metadata.json first: a model file without metadata is not a loadable artifact.
    (out / METADATA_FILE).unlink(missing_ok=True)
    atomic_write_bytes(out / MODEL_FILE, data)
    atomic_write_json(out / METADATA_FILE, full)
    return full


def read_metadata(artifact_dir: str | os.PathLike[str]) -> dict[str, Any]:
    path = Path(artifact_dir) / METADATA_FILE
    if not path.is_file():
        raise ArtifactNotFoundError(f"{path}: metadata file not found")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MetadataError(f"{path}: unreadable metadata: {exc}") from exc
    if not isinstance(meta, dict):
        raise MetadataError(f"{path}: metadata must be a JSON object")
    missing = [key for key in REQUIRED_METADATA if key not in meta]
    if missing:
        raise MetadataError(f"{path}: missing required field(s): {', '.join(missing)}")
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", str(meta["digest"])):
        raise MetadataError(f"{path}: digest must look like sha256:<64 hex>, got {meta['digest']!r}")
    return meta


def load_artifact(
    artifact_dir: str | os.PathLike[str],
    *,
    expected_digest: str | None = None,
    check_versions: bool = True,
) -> tuple[Any, dict[str, Any]]:
    """Load and verify an artifact. Order: metadata, digest (vs metadata and ``expected_digest``),
    library versions, trusted types, then deserialisation. Raises an ArtifactError subclass."""
    root = Path(artifact_dir)
    if not root.is_dir():
        raise ArtifactNotFoundError(f"{root}: artifact directory not found")
    meta = read_metadata(root)
    model_path = root / str(meta["model_file"])
    if model_path.parent.resolve() != root.resolve():
        raise MetadataError(f"{root / METADATA_FILE}: model_file must name a file inside the artifact")
    if not model_path.is_file():
        raise ArtifactNotFoundError(f"{model_path}: model file not found")
    data = model_path.read_bytes()
    actual = sha256_digest(data)
    if actual != meta["digest"]:
        raise DigestMismatchError(f"{model_path}: digest {actual} does not match metadata {meta['digest']}")
    if expected_digest is not None and actual != expected_digest:
        raise DigestMismatchError(f"{model_path}: digest {actual} does not match expected {expected_digest}")
    if check_versions:
        check_library_versions(meta["library_versions"])
    return loads_model(data), meta

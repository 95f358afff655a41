"""Find the artifact named by ``MODEL_URI``, fetch it if remote, verify it and load it.

* a local path (or ``file://``) is used in place;
* ``s3://bucket/prefix`` and ``https://host/prefix`` are fetched into ``CACHE_DIR/<sha256 hex>/``:
  metadata.json first (it names the digest), then the model file, whose sha256 must match before
  anything is written to the cache. A cached copy is reused only after its bytes hash to the digest.
  With ``MODEL_DIGEST`` set, a verified cached copy is used without any network call.

Remote calls retry transient failures (connection errors, timeouts, 5xx, throttling) with a doubling
backoff, a bounded number of times; a missing object or a refused credential fails at once.
Whatever goes wrong raises an ``ArtifactError`` subclass whose message names the URI and the reason.

Loading: the first time a model digest is served, ``training.artifact.load_artifact`` verifies and
deserialises it, the predictor checks it against its metadata and derives an inference plan checked
against scikit-learn; the plan is then saved as ``<sha256 hex>.npz`` in ``PLAN_DIR`` (when set) or else
``CACHE_DIR/plans``, whichever is writable first (failing both is logged, not fatal). Later starts with the same digest verify
the model file's sha256 and the library versions exactly as ``load_artifact`` does, re-check the plan
on the metadata examples, and serve it without importing scikit-learn (which is most of a cold start).
The image runs ``python -m serving check`` at build time, so its model's plan is baked into a
read-only ``PLAN_DIR``.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import ssl
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from training.artifact import (
    METADATA_FILE,
    ArtifactError,
    ArtifactNotFoundError,
    DigestMismatchError,
    MetadataError,
    atomic_write_bytes,
    check_library_versions,
    file_digest,
    read_metadata,
    sha256_digest,
)

if TYPE_CHECKING:
    from serving.predictor import Predictor
    from serving.settings import Settings

log = logging.getLogger("serving.store")

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
MAX_BACKOFF = 8.0


class StoreError(ArtifactError):
    """The artifact could not be fetched (after retries where retrying makes sense)."""


class _Transient(Exception):
    """A failure worth retrying."""


Fetch = Callable[[str], bytes]


def load_predictor(settings: Settings) -> Predictor:
    """Fetch (if remote), verify and load the model named by the settings. Raises ArtifactError or
    ModelRefused with the reason; never returns a model that failed a check."""
    from serving.predictor import Predictor

    local = fetch_artifact(settings)
    if settings.compiled:
        cached = _predictor_from_cached_plan(local, settings)
        if cached is not None:
            return cached
    predictor = Predictor.from_artifact(
        local, expected_digest=settings.model_digest, compiled=settings.compiled, max_rows=settings.max_rows
    )
    if predictor.plan is not None:
        data = predictor.plan.to_bytes()
        reasons = []
        for path in plan_paths(settings, predictor.digest):
            try:
                atomic_write_bytes(path, data)
            except OSError as exc:
                reasons.append(f"{path}: {exc}")
                continue
            log.info("inference plan cached", extra={"path": str(path)})
            break
        else:
            log.info("inference plan not cached", extra={"reason": "; ".join(reasons)})
    return predictor


def plan_paths(settings: Settings, digest: str) -> list[Path]:
    """Where the verified plan for ``digest`` is looked for and saved, in order: ``PLAN_DIR`` (when set;
    the image bakes its model's plan there, read-only), then ``CACHE_DIR/plans``, so that a model given
    at start still has its plan cached for the next start."""
    name = digest.split(":", 1)[1] + ".npz"
    directories = [Path(settings.plan_dir)] if settings.plan_dir else []
    return [directory / name for directory in [*directories, Path(settings.cache_dir) / "plans"]]


def verify_artifact_files(artifact_dir: Path, expected_digest: str | None) -> dict[str, Any]:
    """``load_artifact``'s checks short of deserialising the model: metadata, model file inside the
    artifact, sha256 against metadata and ``expected_digest``, library versions. Returns the metadata."""
    meta = read_metadata(artifact_dir)
    model_path = artifact_dir / str(meta["model_file"])
    if model_path.parent.resolve() != artifact_dir.resolve():
        raise MetadataError(
            f"{artifact_dir / METADATA_FILE}: model_file must name a file inside the artifact"
        )
    if not model_path.is_file():
        raise ArtifactNotFoundError(f"{model_path}: model file not found")
    actual = file_digest(model_path)
    if actual != meta["digest"]:
        raise DigestMismatchError(f"{model_path}: digest {actual} does not match metadata {meta['digest']}")
    if expected_digest is not None and actual != expected_digest:
        raise DigestMismatchError(f"{model_path}: digest {actual} does not match expected {expected_digest}")
    check_library_versions(meta["library_versions"])
    return meta


def _predictor_from_cached_plan(artifact_dir: Path, settings: Settings) -> Predictor | None:
    from serving.plan import Plan, PlanError
    from serving.predictor import ModelRefused, Predictor

    candidates = plan_paths(settings, str(read_metadata(artifact_dir)["digest"]))
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        return None
    meta = verify_artifact_files(artifact_dir, settings.model_digest)  # a mismatch refuses the model
    try:
        predictor = Predictor.from_plan(meta, Plan.from_bytes(path.read_bytes()), max_rows=settings.max_rows)
    except (PlanError, ModelRefused, OSError) as exc:
        log.warning("cached inference plan not used", extra={"path": str(path), "reason": str(exc)})
        return None
    log.info("serving the inference plan cached for this digest", extra={"path": str(path)})
    return predictor


def fetch_artifact(settings: Settings, *, sleep: Callable[[float], None] = time.sleep) -> Path:
    """Return a local directory holding the artifact named by ``settings.model_uri``."""
    uri = settings.model_uri
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return Path(parsed.path if parsed.scheme == "file" else uri)
    if parsed.scheme == "s3":
        fetch = _s3_fetcher(parsed.netloc, parsed.path.lstrip("/"), settings.download_timeout)
    elif parsed.scheme in ("https", "http"):
        if parsed.scheme == "http" and parsed.hostname not in LOOPBACK_HOSTS:
            raise StoreError(f"{uri}: plain http is only allowed for loopback hosts; use https")
        fetch = _http_fetcher(uri, settings.download_timeout)
    else:
        raise StoreError(f"{uri}: unsupported scheme {parsed.scheme!r} (use a path, s3:// or https://)")

    def fetch_retrying(name: str) -> bytes:
        return _with_retries(
            f"{uri.rstrip('/')}/{name}",
            lambda: fetch(name),
            settings.download_attempts,
            settings.download_backoff,
            sleep,
        )

    return _fetch_into_cache(uri, fetch_retrying, Path(settings.cache_dir), settings.model_digest)


def _fetch_into_cache(uri: str, fetch: Fetch, cache: Path, expected: str | None) -> Path:
    if expected is not None:
        hit = cache / expected.split(":", 1)[1]
        if _verified_copy(hit, expected):
            log.info("using cached artifact", extra={"path": str(hit), "digest": expected})
            return hit
    raw = fetch(METADATA_FILE)
    try:
        meta = json.loads(raw.decode("utf-8"))
        digest = str(meta["digest"])
        model_file = str(meta.get("model_file", "model.skops"))
    except (UnicodeDecodeError, json.JSONDecodeError, TypeError, KeyError) as exc:
        raise MetadataError(f"{uri}/{METADATA_FILE}: unreadable metadata ({exc!r})") from None
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        raise MetadataError(f"{uri}/{METADATA_FILE}: digest must look like sha256:<64 hex>, got {digest!r}")
    if "/" in model_file or "\\" in model_file or model_file in ("", ".", ".."):
        raise MetadataError(
            f"{uri}/{METADATA_FILE}: model_file must be a plain file name, got {model_file!r}"
        )
    if expected is not None and digest != expected:
        raise DigestMismatchError(f"{uri}: metadata records digest {digest}, expected {expected}")
    target = cache / digest.split(":", 1)[1]
    if _verified_copy(target, digest):
        log.info("using cached artifact", extra={"path": str(target), "digest": digest})
        return target
    data = fetch(model_file)
    actual = sha256_digest(data)
    if actual != digest:
        raise DigestMismatchError(
            f"{uri}/{model_file}: downloaded bytes hash to {actual}, metadata says {digest}"
        )
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=cache, prefix=".incoming-"))
    try:
        (staging / model_file).write_bytes(data)
        (staging / METADATA_FILE).write_bytes(raw)
        if target.exists():  # a stale or corrupt copy (a verified one returned above)
            shutil.rmtree(target, ignore_errors=True)
        try:
            staging.rename(target)
        except OSError:
            if not _verified_copy(target, digest):  # another process won the race with a good copy, or not
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info(
        "fetched artifact", extra={"uri": uri, "path": str(target), "digest": digest, "bytes": len(data)}
    )
    return target


def _verified_copy(directory: Path, digest: str) -> bool:
    try:
        meta = json.loads((directory / METADATA_FILE).read_text(encoding="utf-8"))
        return meta.get("digest") == digest and file_digest(directory / str(meta.get("model_file"))) == digest
    except (OSError, ValueError, AttributeError):
        return False


def _with_retries(
    what: str, call: Callable[[], bytes], attempts: int, backoff: float, sleep: Callable[[float], None]
) -> bytes:
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except _Transient as exc:
            if attempt == attempts:
                raise StoreError(f"{what}: giving up after {attempts} attempt(s): {exc}") from None
            delay = min(backoff * 2 ** (attempt - 1), MAX_BACKOFF)
            log.warning(
                "fetch failed, retrying",
                extra={"what": what, "attempt": attempt, "retry_in_s": delay, "error": str(exc)},
            )
            sleep(delay)
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------- https
def _http_fetcher(base: str, timeout: float) -> Fetch:
    def fetch(name: str) -> bytes:
        url = f"{base.rstrip('/')}/{name}"
        request = urllib.request.Request(url, headers={"User-Agent": "model-server"})  # noqa: S310 (scheme checked)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return bytes(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise ArtifactNotFoundError(f"{url}: not found (HTTP 404)") from None
            if exc.code in (408, 425, 429) or exc.code >= 500:
                raise _Transient(f"HTTP {exc.code}") from None
            raise StoreError(f"{url}: HTTP {exc.code} {exc.reason}") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, ssl.SSLError):  # a certificate problem does not go away by retrying
                raise StoreError(f"{url}: TLS failure: {exc.reason}") from None
            raise _Transient(str(exc.reason)) from None
        except (TimeoutError, ConnectionError) as exc:
            raise _Transient(str(exc)) from None

    return fetch


# --------------------------------------------------------------------------- s3
def _s3_fetcher(bucket: str, prefix: str, timeout: float) -> Fetch:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, ReadTimeoutError
    from botocore.exceptions import ConnectionError as BotoConnectionError

    if not bucket:
        raise StoreError("s3:// URI without a bucket name")
    # Retries are ours (bounded, logged); the endpoint comes from AWS_ENDPOINT_URL when set.
    client = boto3.client(
        "s3",
        config=Config(
            connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 1, "mode": "standard"}
        ),
    )
    transient_codes = {
        "InternalError",
        "ServiceUnavailable",
        "SlowDown",
        "RequestTimeout",
        "Throttling",
        "503",
        "500",
    }

    def fetch(name: str) -> bytes:
        key = f"{prefix.rstrip('/')}/{name}" if prefix.strip("/") else name
        where = f"s3://{bucket}/{key}"
        try:
            body: Any = client.get_object(Bucket=bucket, Key=key)["Body"]
            return bytes(body.read())
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("NoSuchKey", "404", "NotFound"):
                raise ArtifactNotFoundError(f"{where}: not found") from None
            if code in transient_codes:
                raise _Transient(f"{code}") from None
            raise StoreError(f"{where}: {code or exc}") from None
        except NoCredentialsError:
            raise StoreError(f"{where}: no AWS credentials found") from None
        except (BotoConnectionError, ReadTimeoutError) as exc:
            raise _Transient(str(exc)) from None
        except BotoCoreError as exc:
            raise StoreError(f"{where}: {exc}") from None

    return fetch

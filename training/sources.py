"""Read a table from where params.yaml says it lives: a built-in dataset, a local path, S3 or HTTPS.

Sources:
    builtin:<name>          a dataset shipped inside an installed package (nothing is downloaded)
    <path>                  a local CSV or Parquet file
    s3://bucket/key         read with boto3; AWS_ENDPOINT_URL points it at an S3-compatible store
    https://host/path       read over HTTPS (plain http:// only to the local machine, for tests)

The format comes from the file suffix (.csv, .parquet, .pq) unless params.yaml names it.
"""

from __future__ import annotations

import io
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from training.errors import IngestError

FORMATS = ("auto", "csv", "parquet")
_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
HTTP_TIMEOUT_S = 60.0


def _penguins() -> pd.DataFrame:
    from palmerpenguins import load_penguins

    return load_penguins()


BUILTIN: dict[str, Callable[[], pd.DataFrame]] = {"penguins": _penguins}


def source_kind(source: str) -> str:
    if source.startswith("builtin:"):
        return "builtin"
    scheme = urllib.parse.urlsplit(source).scheme.lower()
    if scheme in ("s3", "https", "http"):
        return scheme
    if scheme == "file" or len(scheme) <= 1:  # "" or a Windows drive letter
        return "local"
    raise IngestError(
        f"{source}: unsupported source scheme '{scheme}' (use builtin:, a path, s3:// or https://)"
    )


def resolve_format(source: str, fmt: str) -> str:
    if fmt not in FORMATS:
        raise IngestError(f"{source}: unknown format '{fmt}' (use one of {', '.join(FORMATS)})")
    if fmt != "auto":
        return fmt
    path = urllib.parse.urlsplit(source).path or source
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIXES:
        raise IngestError(
            f"{source}: cannot tell the format from suffix '{suffix}'; set data.format to csv or parquet"
        )
    return _SUFFIXES[suffix]


def read_source(source: str, fmt: str = "auto") -> pd.DataFrame:
    """Read the table named by ``source``. Raises IngestError naming the source on any failure."""
    kind = source_kind(source)
    if kind == "builtin":
        name = source.split(":", 1)[1]
        if name not in BUILTIN:
            raise IngestError(f"{source}: no built-in dataset '{name}' (known: {', '.join(sorted(BUILTIN))})")
        return BUILTIN[name]()
    table_format = resolve_format(source, fmt)
    if kind == "local":
        path = urllib.parse.urlsplit(source).path if source.startswith("file:") else source
        data = _read_local(Path(path))
    elif kind == "s3":
        data = _read_s3(source)
    else:
        data = _read_http(source)
    return parse_table(data, table_format, source)


def _read_local(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise IngestError(f"{path}: file not found") from exc
    except IsADirectoryError as exc:
        raise IngestError(f"{path}: is a directory, not a data file") from exc
    except OSError as exc:
        raise IngestError(f"{path}: cannot read file: {exc.strerror or exc}") from exc


def split_s3_uri(uri: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(uri)
    bucket, key = parts.netloc, parts.path.lstrip("/")
    if not bucket or not key:
        raise IngestError(f"{uri}: an S3 source must look like s3://bucket/key")
    return bucket, key


def _read_s3(uri: str) -> bytes:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = split_s3_uri(uri)
    # boto3 reads AWS_ENDPOINT_URL itself; passing it explicitly keeps older SDKs on the same endpoint.
    client = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)
    try:
        return bytes(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchKey", "404", "NotFound"):
            raise IngestError(f"{uri}: no such key in bucket '{bucket}'") from exc
        if code == "NoSuchBucket":
            raise IngestError(f"{uri}: bucket '{bucket}' does not exist") from exc
        if code in ("AccessDenied", "403"):
            raise IngestError(
                f"{uri}: access denied (check the credentials' s3:GetObject permission)"
            ) from exc
        raise IngestError(f"{uri}: S3 error {code}: {exc}") from exc
    except BotoCoreError as exc:
        raise IngestError(f"{uri}: cannot reach S3: {exc}") from exc


def _read_http(url: str) -> bytes:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        raise IngestError(f"{url}: plain http is refused for remote hosts; use https://")
    request = urllib.request.Request(url, headers={"User-Agent": "mlops-template-ingest"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:  # noqa: S310
            return bytes(response.read())
    except urllib.error.HTTPError as exc:
        raise IngestError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise IngestError(f"{url}: cannot download: {reason}") from exc


def parse_table(data: bytes, table_format: str, name: str) -> pd.DataFrame:
    """Parse CSV (UTF-8) or Parquet bytes into a DataFrame; raise IngestError naming ``name``."""
    if not data:
        raise IngestError(f"{name}: file is empty (0 bytes)")
    if table_format == "csv":
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise IngestError(f"{name}: unreadable CSV: not UTF-8 text (byte {exc.start})") from exc
        if "\x00" in text:
            raise IngestError(f"{name}: unreadable CSV: contains NUL bytes (a binary file?)")
        if not text.strip():
            raise IngestError(f"{name}: file is empty (only whitespace)")
        try:
            return pd.read_csv(io.StringIO(text), low_memory=False)
        except pd.errors.EmptyDataError as exc:
            raise IngestError(f"{name}: file is empty (no header row)") from exc
        except (pd.errors.ParserError, ValueError) as exc:
            raise IngestError(f"{name}: unreadable CSV: {exc}") from exc
    try:
        return pd.read_parquet(io.BytesIO(data), engine="pyarrow")
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError and others for damaged files
        raise IngestError(f"{name}: unreadable Parquet file: {exc}") from exc

"""Reading the source named in params.yaml: built-in, local CSV/Parquet, S3 (moto) and HTTP."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import boto3
import pandas as pd
import pytest

from training.errors import IngestError
from training.sources import read_source, resolve_format


@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame({"a": [1.5, None, 3.0], "b": ["x", "y", None]})


def assert_same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Equal tables; CSV reads a missing text as NaN and Parquet as None, both count as null."""
    assert list(got.columns) == list(want.columns)
    for name in want.columns:
        assert got[name].isna().tolist() == want[name].isna().tolist(), name
        assert got[name].dropna().tolist() == want[name].dropna().tolist(), name


def test_builtin_penguins_ships_in_a_package() -> None:
    frame = read_source("builtin:penguins")
    assert frame.shape == (344, 8)
    assert set(frame["species"]) == {"Adelie", "Chinstrap", "Gentoo"}


def test_unknown_builtin_and_scheme() -> None:
    with pytest.raises(IngestError, match="no built-in dataset 'iris'"):
        read_source("builtin:iris")
    with pytest.raises(IngestError, match="unsupported source scheme 'ftp'"):
        read_source("ftp://host/data.csv")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_local_files_round_trip(tmp_path: Path, table: pd.DataFrame, suffix: str) -> None:
    path = tmp_path / f"data{suffix}"
    table.to_csv(path, index=False) if suffix == ".csv" else table.to_parquet(path, index=False)
    assert_same(read_source(str(path)), table)


def test_format_from_params_overrides_the_suffix(tmp_path: Path, table: pd.DataFrame) -> None:
    path = tmp_path / "export.txt"
    table.to_csv(path, index=False)
    with pytest.raises(IngestError, match=r"cannot tell the format from suffix '\.txt'"):
        read_source(str(path))
    assert_same(read_source(str(path), "csv"), table)
    assert resolve_format("s3://b/k.PQ?x=1", "auto") == "parquet"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "file is empty"),
        ("blank.csv", b"  \n\n", "file is empty"),
        ("binary.csv", bytes(range(256)) * 4, "unreadable CSV: not UTF-8"),
        ("nul.csv", b"a,b\n1,\x002\n", "unreadable CSV: contains NUL"),
        ("broken.parquet", b"PAR1 this is not parquet", "unreadable Parquet file"),
        ("empty.parquet", b"", "file is empty"),
    ],
)
def test_bad_local_files_name_the_file_and_problem(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(IngestError, match=message) as info:
        read_source(str(path))
    assert str(path) in str(info.value)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"missing\.csv: file not found"):
        read_source(str(tmp_path / "missing.csv"))
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(IngestError, match="is a directory"):
        read_source(str(tmp_path / "dir.csv"))


# ----------------------------------------------------------------------------------------------- S3
def test_s3_object_is_read_through_aws_endpoint_url(aws_env: str, table: pd.DataFrame) -> None:
    s3 = boto3.client("s3", endpoint_url=aws_env)
    s3.create_bucket(Bucket="ingest-read-ok")
    s3.put_object(Bucket="ingest-read-ok", Key="raw/data.csv", Body=table.to_csv(index=False).encode())
    assert_same(read_source("s3://ingest-read-ok/raw/data.csv"), table)


def test_s3_missing_key_and_bucket(aws_env: str) -> None:
    boto3.client("s3", endpoint_url=aws_env).create_bucket(Bucket="ingest-missing-key")
    with pytest.raises(IngestError, match=r"s3://ingest-missing-key/nope\.csv: no such key"):
        read_source("s3://ingest-missing-key/nope.csv")
    with pytest.raises(IngestError, match="bucket 'ingest-no-such-bucket' does not exist"):
        read_source("s3://ingest-no-such-bucket/data.csv")
    with pytest.raises(IngestError, match="must look like s3://bucket/key"):
        read_source("s3://only-a-bucket.csv")


# --------------------------------------------------------------------------------------------- HTTP
@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    handler = lambda *a, **kw: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path), **kw)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.RequestHandlerClass.log_message = lambda *a, **kw: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path
    finally:
        server.shutdown()
        server.server_close()


def test_http_download_on_loopback(http_root: tuple[str, Path], table: pd.DataFrame) -> None:
    url, root = http_root
    table.to_parquet(root / "data.parquet", index=False)
    assert_same(read_source(f"{url}/data.parquet"), table)
    with pytest.raises(IngestError, match="HTTP 404"):
        read_source(f"{url}/absent.csv")


def test_plain_http_to_a_remote_host_is_refused() -> None:
    with pytest.raises(IngestError, match="plain http is refused"):
        read_source("http://example.invalid/data.csv")

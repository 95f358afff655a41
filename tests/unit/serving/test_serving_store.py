"""Model store: local paths, https/http (a real HTTP server on loopback) and S3 (the moto server), retries
with backoff, the digest-keyed cache, and refusals (digest mismatch, missing objects, bad URIs)."""

from __future__ import annotations

import datetime
import shutil
import ssl
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from serving.settings import Settings
from serving.store import StoreError, fetch_artifact, load_predictor
from training.artifact import ArtifactNotFoundError, DigestMismatchError, read_metadata


class ArtifactHTTPServer:
    """Serves files from a directory (over TLS when given a context); can fail the first N requests with a
    status, and counts requests."""

    def __init__(self, root: Path, tls: ssl.SSLContext | None = None):
        self.root = root
        self.requests: list[str] = []
        self.fail_first = 0
        self.fail_status = 503
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append(self.path)
                if len(outer.requests) <= outer.fail_first:
                    self.send_response(outer.fail_status)
                    self.end_headers()
                    return
                target = outer.root / self.path.lstrip("/").split("/", 1)[-1]
                if not target.is_file():
                    self.send_response(404)
                    self.end_headers()
                    return
                data = target.read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}/artifact"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ArtifactHTTPServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def artifact_copy(penguins_artifact: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(penguins_artifact, tmp_path / "artifact"))


@pytest.fixture
def http_artifact(artifact_copy: Path) -> Iterator[ArtifactHTTPServer]:
    with ArtifactHTTPServer(artifact_copy) as server:
        yield server


def settings_for(uri: str, tmp_path: Path, **kw: Any) -> Settings:
    return Settings(model_uri=uri, cache_dir=str(tmp_path / "cache"), download_backoff=0.0, **kw)


def test_local_path_is_used_in_place(penguins_artifact: Path, tmp_path: Path) -> None:
    assert fetch_artifact(settings_for(str(penguins_artifact), tmp_path)) == penguins_artifact
    assert fetch_artifact(settings_for(f"file://{penguins_artifact}", tmp_path)) == penguins_artifact
    predictor = load_predictor(settings_for(str(penguins_artifact), tmp_path))
    assert predictor.backend == "compiled"


def test_https_style_fetch_caches_by_digest(http_artifact: ArtifactHTTPServer, tmp_path: Path) -> None:
    settings = settings_for(http_artifact.url, tmp_path)
    local = fetch_artifact(settings)
    digest = read_metadata(local)["digest"]
    assert local == tmp_path / "cache" / digest.split(":")[1]
    assert sorted(p.name for p in local.iterdir()) == ["metadata.json", "model.skops"]
    assert http_artifact.requests == ["/artifact/metadata.json", "/artifact/model.skops"]
    predictor = load_predictor(settings)
    assert predictor.digest == digest
    # Knowing the digest, a verified cached copy needs no network at all.
    http_artifact.requests.clear()
    assert fetch_artifact(settings_for(http_artifact.url, tmp_path, model_digest=digest)) == local
    assert http_artifact.requests == []


def test_transient_failures_are_retried(http_artifact: ArtifactHTTPServer, tmp_path: Path) -> None:
    http_artifact.fail_first = 2
    delays: list[float] = []
    settings = replace(settings_for(http_artifact.url, tmp_path, download_attempts=4), download_backoff=0.25)
    local = fetch_artifact(settings, sleep=delays.append)
    assert (local / "model.skops").is_file()
    assert delays == [0.25, 0.5]  # doubling backoff
    assert len(http_artifact.requests) == 4


def test_retries_are_bounded(http_artifact: ArtifactHTTPServer, tmp_path: Path) -> None:
    http_artifact.fail_first = 100
    with pytest.raises(StoreError, match=r"giving up after 3 attempt\(s\): HTTP 503"):
        fetch_artifact(settings_for(http_artifact.url, tmp_path, download_attempts=3), sleep=lambda _: None)
    assert len(http_artifact.requests) == 3


def test_missing_object_fails_at_once(http_artifact: ArtifactHTTPServer, tmp_path: Path) -> None:
    with pytest.raises(ArtifactNotFoundError, match="not found"):
        fetch_artifact(settings_for(http_artifact.url + "/nowhere", tmp_path), sleep=lambda _: None)
    assert len(http_artifact.requests) == 1


def test_forbidden_is_not_retried(http_artifact: ArtifactHTTPServer, tmp_path: Path) -> None:
    http_artifact.fail_first, http_artifact.fail_status = 100, 403
    with pytest.raises(StoreError, match="HTTP 403"):
        fetch_artifact(settings_for(http_artifact.url, tmp_path), sleep=lambda _: None)
    assert len(http_artifact.requests) == 1


def test_tampered_remote_model_is_refused_and_not_cached(
    http_artifact: ArtifactHTTPServer, artifact_copy: Path, tmp_path: Path
) -> None:
    model = artifact_copy / "model.skops"
    data = bytearray(model.read_bytes())
    data[-10] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(DigestMismatchError, match="downloaded bytes hash to"):
        fetch_artifact(settings_for(http_artifact.url, tmp_path))
    assert not any((tmp_path / "cache").glob("[0-9a-f]*"))


def test_unexpected_digest_is_refused_before_downloading_the_model(
    http_artifact: ArtifactHTTPServer, tmp_path: Path
) -> None:
    wrong = "sha256:" + "0" * 64
    with pytest.raises(DigestMismatchError, match="expected sha256:0000"):
        fetch_artifact(settings_for(http_artifact.url, tmp_path, model_digest=wrong))
    assert http_artifact.requests == ["/artifact/metadata.json"]


def test_corrupt_cached_copy_is_fetched_again(http_artifact: ArtifactHTTPServer, tmp_path: Path) -> None:
    local = fetch_artifact(settings_for(http_artifact.url, tmp_path))
    (local / "model.skops").write_bytes(b"garbage")
    again = fetch_artifact(settings_for(http_artifact.url, tmp_path))
    assert again == local
    assert read_metadata(again)["digest"] == load_predictor(settings_for(http_artifact.url, tmp_path)).digest


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("http://example.invalid/models", "plain http is only allowed for loopback hosts"),
        ("ftp://127.0.0.1/models", "unsupported scheme 'ftp'"),
        ("s3:///models", "without a bucket name"),
    ],
)
def test_unusable_uris_are_refused(uri: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=message):
        fetch_artifact(settings_for(uri, tmp_path))


def test_local_digest_mismatch_is_refused(artifact_copy: Path, tmp_path: Path) -> None:
    with pytest.raises(DigestMismatchError, match="does not match expected"):
        load_predictor(settings_for(str(artifact_copy), tmp_path, model_digest="sha256:" + "1" * 64))
    model = artifact_copy / "model.skops"
    model.write_bytes(model.read_bytes() + b"\0")
    with pytest.raises(DigestMismatchError, match="does not match metadata"):
        load_predictor(settings_for(str(artifact_copy), tmp_path))


def test_s3_fetch_through_the_emulator(aws_env: str, penguins_artifact: Path, tmp_path: Path) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=aws_env)
    s3.create_bucket(Bucket="store-unit-test")
    digest = read_metadata(penguins_artifact)["digest"]
    prefix = f"models/penguins/{digest}"
    for name in ("metadata.json", "model.skops"):
        s3.upload_file(str(penguins_artifact / name), "store-unit-test", f"{prefix}/{name}")
    predictor = load_predictor(settings_for(f"s3://store-unit-test/{prefix}/", tmp_path, model_digest=digest))
    assert predictor.digest == digest and predictor.backend == "compiled"
    with pytest.raises(
        ArtifactNotFoundError, match=r"s3://store-unit-test/nothing/metadata\.json: not found"
    ):
        fetch_artifact(settings_for("s3://store-unit-test/nothing", tmp_path))
    with pytest.raises(StoreError, match="NoSuchBucket"):
        fetch_artifact(settings_for("s3://no-such-bucket-here/x", tmp_path))


def _self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by itself (so it is also the CA to trust)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def test_https_with_a_trusted_certificate_and_refusal_of_an_untrusted_one(
    artifact_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = _self_signed_certificate(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    with ArtifactHTTPServer(artifact_copy, tls) as server:
        assert server.url.startswith("https://")
        with pytest.raises(StoreError, match="TLS failure"):  # not trusted: refused, and not retried
            fetch_artifact(settings_for(server.url, tmp_path), sleep=lambda _: pytest.fail("retried"))
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        predictor = load_predictor(settings_for(server.url, tmp_path))
        assert predictor.backend == "compiled"
        assert server.requests == ["/artifact/metadata.json", "/artifact/model.skops"]

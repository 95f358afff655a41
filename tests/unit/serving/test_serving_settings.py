"""Settings: read once from MODEL_SERVER_* variables, typed, validated, every field documented."""

from __future__ import annotations

from dataclasses import fields

import pytest

from serving.settings import PREFIX, Settings, SettingsError, available_cpus


def test_defaults_without_environment() -> None:
    s = Settings.from_env({})
    assert (s.model_uri, s.host, s.port, s.preload, s.compute_threads) == (
        "models",
        "127.0.0.1",
        8080,
        True,
        1,
    )
    assert s.workers == available_cpus() >= 1
    assert s.threads == 2 and s.worker_class == "gthread" and s.keepalive > 60
    assert s.model_digest is None and s.model_name is None


def test_values_are_parsed_by_type() -> None:
    s = Settings.from_env(
        {
            "MODEL_SERVER_MODEL_URI": "s3://bucket/models/penguins",
            "MODEL_SERVER_PORT": "9000",
            "MODEL_SERVER_THREADS": "1",
            "MODEL_SERVER_PRELOAD": "no",
            "MODEL_SERVER_DOWNLOAD_BACKOFF": "0.25",
            "MODEL_SERVER_MODEL_DIGEST": "sha256:" + "a" * 64,
            "MODEL_SERVER_LOG_LEVEL": "debug",
            "UNRELATED": "ignored",
        }
    )
    assert (s.port, s.threads, s.preload, s.download_backoff) == (9000, 1, False, 0.25)
    assert s.worker_class == "sync"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MODEL_SERVER_PORT": "eighty"}, "MODEL_SERVER_PORT='eighty'"),
        ({"MODEL_SERVER_PORT": "70000"}, "MODEL_SERVER_PORT=70000: must be at most 65535"),
        ({"MODEL_SERVER_WORKERS": "0"}, "MODEL_SERVER_WORKERS=0: must be at least 1"),
        ({"MODEL_SERVER_PRELOAD": "maybe"}, "expected true/false"),
        ({"MODEL_SERVER_MAX_ROWS": "-5"}, "MODEL_SERVER_MAX_ROWS=-5"),
        ({"MODEL_SERVER_MODEL_DIGEST": "md5:abc"}, "must look like sha256:"),
        ({"MODEL_SERVER_LOG_LEVEL": "LOUD"}, "must be one of DEBUG"),
        ({"MODEL_SERVER_DOWNLOAD_TIMEOUT": "nan"}, "must be finite"),
        ({"MODEL_SERVER_PROT": "8080"}, "unknown setting(s): MODEL_SERVER_PROT"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env(env)
    assert message in str(info.value)


def test_every_field_is_documented_and_listed() -> None:
    rows = Settings.describe()
    assert [r[0] for r in rows] == [PREFIX + f.name.upper() for f in fields(Settings)]
    assert all(len(doc) > 20 for _, _, doc in rows)


def test_settings_are_frozen() -> None:
    s = Settings.from_env({})
    with pytest.raises(AttributeError):
        s.port = 1  # type: ignore[misc]

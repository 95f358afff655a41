"""The WSGI entry point Gunicorn loads (``serving.wsgi:app``): settings from the environment, the model
loaded and verified once (in the master when preloading). A model that must not be served stops the
process here with a log line that says why."""

from __future__ import annotations

import logging
import sys

from serving.app import create_app
from serving.logs import configure_logging
from serving.predictor import ModelRefused
from serving.settings import Settings, SettingsError
from training.artifact import ArtifactError

try:
    _settings = Settings.from_env()
    configure_logging(_settings.log_level)
    app = create_app(_settings)
except (SettingsError, ArtifactError, ModelRefused) as _exc:
    configure_logging()
    logging.getLogger("serving").critical(
        "model not served: %s", _exc, extra={"reason": type(_exc).__name__, "detail": str(_exc)}
    )
    sys.exit(4)

"""KServe ModelServer for the benchmark's fitted pipeline. Runs in .tools/bench-kserve, not in .venv.

KServe's own scikit-learn runtime (``sklearnserver``) is not published as a package, so this is the
smallest custom ``kserve.Model`` that does the same job, written the way KServe's docs suggest:

- V1 ``instances`` as objects keyed by feature name -> one DataFrame (KServe's ``get_predict_input``
  builds one DataFrame per instance and cannot take flat objects, so that step is done here, in one call);
- V2 typed tensors with ``parameters.content_type = "pd"`` -> ``InferRequest.as_dataframe()``, KServe's
  own decoder.

The answers carry what our server's do: V1 the labels (one ``predict``, sklearnserver's default), V2 the
labels and probabilities (one ``predict_proba``; the label is its argmax).

Usage: python kserve_server.py --model_dir DIR --model_name NAME --http_port PORT --workers 2 ...
(every other flag is KServe's own: see ``kserve.model_server``).
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import uvicorn
from kserve.errors import InvalidInput
from kserve.protocol.rest.multiprocess import server as multiprocess_server

from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer, model_server


class LoopbackConfig(uvicorn.Config):
    """KServe binds its REST server to 0.0.0.0 with no flag to change it; the benchmark stays on loopback."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs["host"] = "127.0.0.1"
        super().__init__(*args, **kwargs)


# fastapi (newest allowed by kserve 0.21) deprecates the ORJSONResponse KServe answers with, and warns on
# every request: a log line per request would be measured as KServe's cost. Runs in spawned workers too.
warnings.filterwarnings("ignore", message=".*ORJSONResponse is deprecated")

uvicorn.Config = LoopbackConfig  # read by kserve.protocol.rest.server at start()

# With --workers > 1, KServe's parent pings each spawned worker every 0.5 s and kills any that does not
# answer within 5 s. A spawned worker re-imports kserve (about 3 s on an idle core) before it can answer,
# so on a busy 2-core machine the workers are killed and respawned forever and the server never becomes
# ready. A longer answer window changes nothing once the workers run (they answer in microseconds).
_is_alive = multiprocess_server.RESTServerProcess.is_alive


def _patient_is_alive(self: multiprocess_server.RESTServerProcess, timeout: float = 60) -> bool:
    return _is_alive(self, timeout)


multiprocess_server.RESTServerProcess.is_alive = _patient_is_alive


class PipelineModel(Model):
    def __init__(self, name: str, model_dir: str) -> None:
        super().__init__(name)
        self.model_dir = Path(model_dir)
        self.ready = False

    def load(self) -> bool:
        self.model = joblib.load(self.model_dir / "model.joblib")
        info = json.loads((self.model_dir / "features.json").read_text())
        self.columns = list(info["features"])
        self.classes = np.asarray(self.model.classes_, dtype=object)
        self.ready = True
        return True

    def _frame(self, payload: dict | InferRequest) -> pd.DataFrame:
        if isinstance(payload, InferRequest):
            return payload.as_dataframe()[self.columns]
        instances = payload.get("instances")
        if not isinstance(instances, list) or not instances:
            raise InvalidInput('"instances" must be a non-empty list')
        if isinstance(instances[0], dict):
            return pd.DataFrame.from_records(instances, columns=self.columns)
        return pd.DataFrame(instances, columns=self.columns)

    def predict(self, payload: dict | InferRequest, headers: dict[str, str] | None = None):
        frame = self._frame(payload)
        if not isinstance(payload, InferRequest):
            # V1 answers labels only, as KServe's sklearnserver does by default (and as our V1 does).
            return {"predictions": self.model.predict(frame).tolist()}
        proba = self.model.predict_proba(frame)
        labels = self.classes[proba.argmax(axis=1)]
        label_out = InferOutput(name="label", shape=[len(labels)], datatype="BYTES")
        label_out.set_data_from_numpy(labels, binary_data=False)
        proba_out = InferOutput(name="probabilities", shape=list(proba.shape), datatype="FP64")
        proba_out.set_data_from_numpy(proba, binary_data=False)
        return InferResponse(
            response_id=payload.id or "",
            model_name=self.name,
            infer_outputs=[label_out, proba_out],
        )


def main() -> None:
    parser = argparse.ArgumentParser(parents=[model_server.parser])
    parser.add_argument("--model_dir", required=True, help="folder with model.joblib and features.json")
    args, _ = parser.parse_known_args()
    model = PipelineModel(args.model_name, args.model_dir)
    model.load()
    ModelServer().start([model])


if __name__ == "__main__":
    main()

"""Protocol adapters. Each module turns its protocol's requests into a ``Batch`` for the one predictor and
its answers back, and exposes:

* ``NAME``; ``register(app, ctx)``, which adds all of its routes;
* ``owns(path)``, whether a path belongs to it (so errors, including 404/405/413 raised before a view
  runs, are answered in that protocol's format);
* ``error_response(err, request_id)``, its error format.
"""

from __future__ import annotations

from serving.protocols import kserve_v1, kserve_v2, native, sagemaker

# Native last: it also answers for paths no other protocol owns.
PROTOCOLS = (kserve_v1, kserve_v2, sagemaker, native)

__all__ = ["PROTOCOLS"]

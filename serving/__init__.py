"""Flask + Gunicorn model server: native, KServe V1/V2 (Open Inference Protocol) and SageMaker contracts
over one verified model. Start it with ``python -m serving`` (Gunicorn) or build an app in process with
``serving.app.create_app``. Importing this package is cheap: nothing heavy loads until it is needed."""

__version__ = "0.1.0"

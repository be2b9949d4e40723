"""The gunicorn worker class for the receiver's default ASGI front (``--worker-class asgi``).

uvicorn's worker (from the ``uvicorn-worker`` package) with the settings the receiver
wants: uvloop and httptools when installed, the ASGI lifespan on (so a stopping worker
closes its outbox thread and connections), no access log (the receiver logs what matters).
"""
from uvicorn_worker import UvicornWorker


class ReceiverWorker(UvicornWorker):
    CONFIG_KWARGS = {"loop": "auto", "http": "auto", "lifespan": "on", "interface": "asgi3", "access_log": False}

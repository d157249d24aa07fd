"""The model service: one model answering many clients' model calls.

:mod:`.calls` answers each call on the server (no Ray, no HTTP), :mod:`.client` is the model a client
holds (:func:`connect`), :mod:`.codec` and :mod:`.wire` the form everything crosses in.
"""

from .calls import ModelCalls, RequestError, ServiceLimits
from .client import HttpTransport, LocalTransport, RemoteModel, RemoteTrace, ServiceError, Transport, connect

__all__ = [
    "HttpTransport",
    "LocalTransport",
    "ModelCalls",
    "RemoteModel",
    "RemoteTrace",
    "RequestError",
    "ServiceError",
    "ServiceLimits",
    "Transport",
    "connect",
]

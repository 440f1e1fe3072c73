# SPDX-License-Identifier: MIT
"""Python client for the Hetu synthetic-dataset server (standard library only).

    from hetu_client import HetuAIDataGenClient, HetuAIClient, HetuAITaskClient, HetuAPIError

HetuAIDataGenClient keeps the method names, arguments and return values of the data-generation
gateway's client, so scripts written for it run unchanged (``dataset.dataset_api`` re-exports
it under the gateway's module name)."""

from .client import FINAL_JOB_STATUSES, HetuAIClient, HetuAIDataGenClient, HetuAITaskClient
from .errors import HetuAPIError, HetuConnectionError, HetuJobTimeout

__version__ = "0.1.0"

__all__ = ["HetuAIDataGenClient", "HetuAIClient", "HetuAITaskClient", "HetuAPIError",
           "HetuConnectionError", "HetuJobTimeout", "FINAL_JOB_STATUSES", "__version__"]

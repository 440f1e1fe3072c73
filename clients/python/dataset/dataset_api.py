# SPDX-License-Identifier: MIT
"""The gateway client's module name: ``from dataset.dataset_api import HetuAIDataGenClient``
gives Hetu's client, so existing scripts run unchanged with clients/python on the path. It lives
in the checkout only: ``pip install clients/python`` installs hetu_client alone, because
``dataset`` is the name of an unrelated PyPI library. (``dataset`` here is a namespace package,
no __init__.py.)"""

from hetu_client import (HetuAIClient, HetuAIDataGenClient, HetuAITaskClient, HetuAPIError,
                         HetuConnectionError, HetuJobTimeout)

__all__ = ["HetuAIDataGenClient", "HetuAIClient", "HetuAITaskClient", "HetuAPIError",
           "HetuConnectionError", "HetuJobTimeout"]

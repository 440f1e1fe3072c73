# SPDX-License-Identifier: MIT
"""The gateway client's module name: ``from dataset.dataset_api import HetuAIDataGenClient``
gives Hetu's client, so existing scripts run unchanged. ``dataset`` is a namespace package (no
__init__.py), so it can sit beside another package of that name."""

from hetu_client import (HetuAIClient, HetuAIDataGenClient, HetuAITaskClient, HetuAPIError,
                         HetuConnectionError, HetuJobTimeout)

__all__ = ["HetuAIDataGenClient", "HetuAIClient", "HetuAITaskClient", "HetuAPIError",
           "HetuConnectionError", "HetuJobTimeout"]

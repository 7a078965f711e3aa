"""Every SMS and e-mail the portal sends, accounted for.

* :mod:`portal.messaging.kinds`: the registry of message kinds (stable name, the SMS template with
  its named variables, the setting that holds the provider's template code).
* :mod:`portal.messaging.backends`: the SMS backends (console, locmem) and the error classes every
  backend raises; :mod:`portal.messaging.aliyun` and :mod:`portal.messaging.tencent` send through
  Alibaba Cloud SMS and Tencent Cloud SMS with the providers' official SDKs.
* :mod:`portal.messaging.services`: recording notices as :class:`portal.models.OutboundMessage`
  rows, sending one (the Celery task ``portal.tasks.message_send``), resending, purging.
* :mod:`portal.messaging.selectors`: undelivered messages, unreachable trainees, a person's messages.
* :mod:`portal.messaging.checks`: ``manage.py check`` warnings about the SMS configuration.

``portal.notifications.notices_deliver`` is the way in for the apps.
"""

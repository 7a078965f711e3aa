"""Split settings: ``base`` is shared; ``local``, ``production`` and ``test`` build on it.

Pick one with ``DJANGO_SETTINGS_MODULE`` (``manage.py`` defaults to ``portal.settings.local``).
"""

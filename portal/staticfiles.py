"""The static files storage of production: hashed names (cached for a year by nginx) and a gzip
copy of each text file beside it, which nginx sends as it is (``gzip_static``).

No Brotli copies: Debian's nginx has no Brotli module, so they would never be sent, and writing them
is most of ``collectstatic``'s time (about 55 s of 57 s for the portal's 377 compressible files on
the 2-core machine, against 2 s for gzip alone).
"""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class GzipManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    def create_compressor(self, **kwargs):
        return super().create_compressor(use_brotli=False, **kwargs)

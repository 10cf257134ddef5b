import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "segmentation_site.settings.base")

application = get_wsgi_application()

# Load every view module now (pandas, SciPy and scikit-learn come with them), then move
# those long-lived objects out of the garbage collector's sight: otherwise a full collection
# (~300 ms over ~200k objects) lands on whichever request triggers it.
from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns  # noqa: B018
gc.freeze()

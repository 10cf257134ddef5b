"""Moved to transaction_files.normalise (readable without Django, by the engine too). This name
is the same module, for code that still imports it from here."""

import sys

import transaction_files.normalise

sys.modules[__name__] = transaction_files.normalise

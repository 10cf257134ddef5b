"""Moved to transaction_files.errors (readable without Django, by the engine too). This name
is the same module, for code that still imports it from here."""

import sys

import transaction_files.errors

sys.modules[__name__] = transaction_files.errors

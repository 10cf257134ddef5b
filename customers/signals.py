"""What other apps may react to in the customers' life (webhooks). Sent once the change has
committed, so a receiver reads what was written and its failure cannot undo it."""

from django.dispatch import Signal

#: A customer was removed with all their lines: kwargs workspace and removal, a plain dict
#: (customer_id, removed_at, removed_by, lines_removed, kept_out), so that downstream
#: systems told of it can forget the customer too.
customer_removed = Signal()

#: Customers left without lines went together when an import was undone: kwargs workspace
#: and removal, a plain dict (reason "import_undone", import_id, file_name, removed_at,
#: removed_by, lines_removed, customer_ids), one signal for them all (a wrong file may have
#: brought thousands).
customers_removed = Signal()

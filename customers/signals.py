"""What other apps may react to in the customers' life (webhooks). Sent once the change has
committed, so a receiver reads what was written and its failure cannot undo it."""

from django.dispatch import Signal

#: A customer was removed with all their lines: kwargs workspace and removal, a plain dict
#: (customer_id, removed_at, removed_by, lines_removed, kept_out), so that downstream
#: systems told of it can forget the customer too.
customer_removed = Signal()

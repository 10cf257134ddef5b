"""Customers' contact details from an import whose mapping has an e-mail or name column:
the latest non-empty value of each per customer, kept while the file is read and written
onto the customers once the lines are in (the lines themselves do not carry them)."""

from __future__ import annotations

import pandas as pd

from ..models import Customer

_BATCH = 500


class ContactDetails:
    """The latest e-mail and name read for each customer id, by the line's time."""

    def __init__(self) -> None:
        self.emails: dict[str, tuple[pd.Timestamp, str]] = {}
        self.names: dict[str, tuple[pd.Timestamp, str]] = {}

    def add(self, contacts: pd.DataFrame | None) -> None:
        if contacts is None or contacts.empty:
            return
        for column, kept in (("email", self.emails), ("name", self.names)):
            given = contacts[contacts[column] != ""].sort_values("ts", kind="stable")
            latest = given.drop_duplicates("customer_ext", keep="last")
            for customer, value, ts in latest[["customer_ext", column, "ts"]].itertuples(
                index=False, name=None
            ):
                earlier = kept.get(customer)
                if earlier is None or ts >= earlier[0]:
                    kept[customer] = (ts, value)

    def __bool__(self) -> bool:
        return bool(self.emails or self.names)

    def store(self, *, workspace) -> int:
        """Write them onto the workspace's customers (call once the lines are moved in, in
        the import's transaction); how many customers changed."""
        ids = sorted(set(self.emails) | set(self.names))
        changed = 0
        for start in range(0, len(ids), _BATCH):
            batch = ids[start : start + _BATCH]
            customers = list(
                Customer.objects.in_workspace(workspace)
                .filter(external_id__in=batch, contact_erased_at=None)  # erased on request: stay so
                .only("pk", "external_id", "email", "name")
            )
            updated = []
            for customer in customers:
                email = self.emails.get(customer.external_id, (None, customer.email))[1]
                name = self.names.get(customer.external_id, (None, customer.name))[1]
                if (email, name) != (customer.email, customer.name):
                    customer.email, customer.name = email, name
                    updated.append(customer)
            Customer.objects.in_workspace(workspace).bulk_update(updated, ["email", "name"])
            changed += len(updated)
        return changed

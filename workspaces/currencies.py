"""The currencies a workspace may keep its amounts in, with the symbol pages show."""

CURRENCIES: dict[str, tuple[str, str]] = {
    "GBP": ("Pound sterling", "£"),
    "USD": ("US dollar", "$"),
    "EUR": ("Euro", "€"),
    "CHF": ("Swiss franc", "CHF "),
    "SEK": ("Swedish krona", "SEK "),
    "NOK": ("Norwegian krone", "NOK "),
    "DKK": ("Danish krone", "DKK "),
    "PLN": ("Polish złoty", "zł "),
    "CAD": ("Canadian dollar", "CA$"),
    "AUD": ("Australian dollar", "A$"),
    "NZD": ("New Zealand dollar", "NZ$"),
    "JPY": ("Japanese yen", "¥"),
    "INR": ("Indian rupee", "₹"),
    "BRL": ("Brazilian real", "R$"),
}

CURRENCY_CHOICES = [(code, f"{code} ({name})") for code, (name, _) in CURRENCIES.items()]


def currency_symbol(code: str) -> str:
    """The symbol written before an amount, or the code and a space for one not listed."""
    return CURRENCIES[code][1] if code in CURRENCIES else f"{code} "


#: Marks an amount in one of these may carry besides its code and symbol: a bare "$" in any
#: dollar shop (its own exports write it so), "kr" in the Nordic ones.
OTHER_MARKS = {"USD": ("US$",), "CAD": ("$",), "AUD": ("$",), "NZD": ("$",), "SEK": ("kr",),
               "NOK": ("kr",), "DKK": ("kr",)}  # fmt: skip


def currency_marks(code: str) -> frozenset[str]:
    """What an amount in `code` may be written with: "£15.00", "15.00 GBP", "CA$15", ..."""
    return frozenset({code, currency_symbol(code).strip(), *OTHER_MARKS.get(code, ())})

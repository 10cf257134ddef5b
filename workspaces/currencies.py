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

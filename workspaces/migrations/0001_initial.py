from django.db import migrations, models

import workspaces.models


class Migration(migrations.Migration):
    initial = True

    dependencies: list = []

    operations = [
        migrations.CreateModel(
            name="Workspace",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100, unique=True)),
                ("slug", models.SlugField(help_text="Its part of the address: /w/<slug>/. Changing it breaks shared links.", unique=True)),
                ("currency", models.CharField(choices=[('GBP', 'GBP (Pound sterling)'), ('USD', 'USD (US dollar)'), ('EUR', 'EUR (Euro)'), ('CHF', 'CHF (Swiss franc)'), ('SEK', 'SEK (Swedish krona)'), ('NOK', 'NOK (Norwegian krone)'), ('DKK', 'DKK (Danish krone)'), ('PLN', 'PLN (Polish złoty)'), ('CAD', 'CAD (Canadian dollar)'), ('AUD', 'AUD (Australian dollar)'), ('NZD', 'NZD (New Zealand dollar)'), ('JPY', 'JPY (Japanese yen)'), ('INR', 'INR (Indian rupee)'), ('BRL', 'BRL (Brazilian real)')], default="GBP", help_text="The currency of the shop's amounts; pages and exports show its symbol.", max_length=3)),
                ("time_zone", models.CharField(default="UTC", help_text="The time zone of the shop's file times that carry no offset (IANA name).", max_length=64, validators=[workspaces.models.validate_time_zone])),
                ("date_order", models.CharField(blank=True, choices=[("", "Detect (ask when ambiguous)"), ("iso", "ISO (year-month-day)"), ("dayfirst", "Day first (31/12/2024)"), ("monthfirst", "Month first (12/31/2024)")], help_text="How the shop's files write dates, when a file does not make it clear.", max_length=12)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={"ordering": ["name"]},
        ),
    ]

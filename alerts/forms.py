"""The form a manager sets a rule with; the model checks the rule (AlertRule.clean)."""

from __future__ import annotations

from django import forms

from .models import AlertRule


class AlertRuleForm(forms.ModelForm):
    class Meta:
        model = AlertRule
        fields = ["kind", "threshold", "min_customers", "enabled", "recipients"]
        labels = {
            "kind": "Alert when",
            "threshold": "Change (%)",
            "min_customers": "More than this many customers",
            "enabled": "Enabled",
            "recipients": "E-mail to",
        }
        widgets = {
            "threshold": forms.NumberInput(attrs={"min": "0", "max": "1000", "step": "any"}),
            "min_customers": forms.NumberInput(attrs={"min": "0"}),
            "recipients": forms.TextInput(attrs={"placeholder": "anna@shop.example, crm@..."}),
        }

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from trials.models import Arm
from trials.services import MAX_TREE_DEPTH, validate_tree


class CriterionReviewForm(forms.Form):
    ACTIONS = [
        ("accept", "Accept the parser's reading"),
        ("correct", "Save my correction"),
        ("unparseable", "Mark unparseable (sites check it by hand)"),
        ("reset", "Back to the parser's reading"),
    ]

    action = forms.ChoiceField(choices=ACTIONS)
    revision = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    tree = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false"}),
        help_text="The criteria tree as JSON: and/or/not/except nodes over atoms.",
    )
    note = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("action") != "correct":
            cleaned["parsed_tree"] = None
            return cleaned
        raw = cleaned.get("tree", "")
        if not raw.strip():
            self.add_error("tree", "A correction needs the corrected tree.")
            return cleaned
        try:
            cleaned["parsed_tree"] = validate_tree(json.loads(raw))
        except json.JSONDecodeError as exc:
            self.add_error("tree", f"Not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.")
        except RecursionError:
            # Too deep for the JSON reader itself, far beyond what validate_tree allows.
            self.add_error("tree", f"The tree is nested more than {MAX_TREE_DEPTH} levels deep.")
        except ValidationError as exc:
            self.add_error("tree", exc)
        return cleaned


class ArmForm(forms.ModelForm[Arm]):
    """An arm edited by a curator: its stratum definition must be a criteria tree the matcher can read."""

    class Meta:
        model = Arm
        fields = [
            "trial", "label", "arm_type", "description", "interventions", "biomarker_definition",
            "enrolment_target", "cap", "is_suspended", "created_at",
        ]  # fmt: skip

    def clean_biomarker_definition(self) -> dict[str, Any]:
        definition = self.cleaned_data.get("biomarker_definition")
        if not definition:
            return {}  # no stratum of its own
        return validate_tree(definition)

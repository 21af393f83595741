import hashlib
import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.forms.fields import InvalidJSONInput

from trials.models import Arm, Trial, TrialSite
from trials.services import MAX_TREE_DEPTH, unstorable_json, validate_tree


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


class StorableJSONField(forms.JSONField):
    """JSON typed in the admin, refused when it could not be read (nested thousands of levels deep) or
    stored (`unstorable_json`: PostgreSQL's jsonb takes no NUL character, NaN or infinity, though SQLite
    does); Django's own field let both through to a 500."""

    def to_python(self, value: Any) -> Any:
        try:
            return super().to_python(value)
        except RecursionError:
            raise ValidationError("This JSON is nested too deeply to read.") from None

    def bound_data(self, data: Any, initial: Any) -> Any:
        try:
            return super().bound_data(data, initial)
        except RecursionError:
            return InvalidJSONInput(data)  # shown again as typed, as Django shows JSON it cannot read

    def validate(self, value: Any) -> None:
        super().validate(value)
        problem = unstorable_json(value)
        if problem:
            raise ValidationError(problem)


class JSONListField(StorableJSONField):
    """A JSON list, as the registry import stores it; an empty input is an empty list (the column takes no
    null)."""

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        return [] if value is None else value

    def validate(self, value: Any) -> None:
        super().validate(value)
        if not isinstance(value, list):
            raise ValidationError("Give a JSON list, in square brackets.")


class TextListField(JSONListField):
    """A JSON list of texts: the matcher links each registered condition (and reads keywords and names) as
    text, and a number or a bare string there broke matching the trial."""

    def validate(self, value: Any) -> None:
        super().validate(value)
        if not all(isinstance(item, str) for item in value):
            raise ValidationError('Give a JSON list of texts, e.g. ["Non-small cell lung cancer", "NSCLC"].')


def _help(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    return str(field.help_text) if isinstance(field, models.Field) else ""


class StaleEditGuardForm(forms.ModelForm[Any]):
    """A change form that refuses to save over a row changed since the form was shown.

    The form carries a digest of what it showed (its fields, and `updated_at` where the model has one, which
    an import bumps when it changes the trial, its arms or its sites). On save the row is read again under a
    lock (the admin saves in a transaction) and compared: if an import or another curator changed it
    meanwhile, nothing is written and the form, with what the curator typed, is shown again with the error.
    """

    shown_version = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The row's columns among the fields the form is built with, fixed now: an inline formset adds its
        # own fields afterwards (the id, the trial, DELETE), and a digest over those too never matched.
        columns = {field.name: field for field in self.instance._meta.concrete_fields}
        self.versioned = [columns[name] for name in self.fields if name in columns]
        self.versioned += [columns["updated_at"]] if "updated_at" in columns else []
        if self.instance.pk is not None:
            self.fields["shown_version"].initial = self._version_of(self.instance)

    def _version_of(self, row: models.Model) -> str:
        values = {field.name: field.value_from_object(row) for field in self.versioned}
        encoded = json.dumps(values, sort_keys=True, default=str).encode()
        return hashlib.sha256(encoded).hexdigest()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.instance.pk is None:
            return cleaned
        model = type(self.instance)
        current = model._default_manager.select_for_update().filter(pk=self.instance.pk).first()
        if current is None:
            raise ValidationError("This record was deleted since the page was shown: nothing was saved.")
        if cleaned.get("shown_version") != self._version_of(current):
            raise ValidationError(
                "This record was changed (by a registry import or another curator) since the page was shown: "
                "nothing was saved. Copy your changes, reload the page and apply them to the current version."
            )
        return cleaned


class TrialAdminForm(StaleEditGuardForm):
    collaborators = TextListField(required=False, help_text=_help(Trial, "collaborators"))
    conditions = TextListField(required=False, help_text=_help(Trial, "conditions"))
    keywords = TextListField(required=False, help_text=_help(Trial, "keywords"))
    interventions = JSONListField(required=False, help_text=_help(Trial, "interventions"))

    class Meta:
        model = Trial
        # None here: the admin builds the form with the fields of TrialAdmin's fieldsets.
        fields: list[str] = []


class TrialSiteAdminForm(StaleEditGuardForm):
    class Meta:
        model = TrialSite
        fields = ["trial", "site", "status", "contact_name", "contact_email", "contact_phone", "investigator"]


class ArmForm(StaleEditGuardForm):
    """An arm edited by a curator: its stratum definition must be a criteria tree the matcher can read."""

    interventions = TextListField(required=False, help_text=_help(Arm, "interventions"))
    biomarker_definition = StorableJSONField(required=False, help_text=_help(Arm, "biomarker_definition"))

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

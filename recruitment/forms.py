"""Patient portal forms: registration, profile facts and consent. Labels and help texts are in plain words."""

import re
from datetime import date
from typing import Any, ClassVar

from django import forms
from django.contrib.auth.forms import BaseUserCreationForm

from nlp import terminology
from recruitment.models import Biomarker, Diagnosis, LabResult, PatientProfile, Procedure, Therapy, User
from recruitment.models.profile import DatePrecision, date_as_given
from recruitment.validators import ECOG_MESSAGE, MAX_THERAPY_LINE, plausible_therapy_line

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

ECOG_CHOICES = [
    ("", "I don't know"),
    ("0", "0 - I can do everything I did before my illness, without limits."),
    ("1", "1 - I can't do hard physical work, but I can walk about and do light work, like housework."),
    ("2", "2 - I can walk about and look after myself, but can't work. I'm up for more than half the day."),
    ("3", "3 - I can only partly look after myself. I'm in bed or a chair for more than half the day."),
    ("4", "4 - I can't look after myself at all. I'm in bed or a chair all day."),
]

ASSAYS = [
    "22C3",
    "SP263",
    "SP142",
    "28-8",
    "FoundationOne CDx",
    "Guardant360",
    "NGS panel",
    "PCR",
    "FISH",
    "IHC",
]
MEASURES = ["TPS", "CPS", "IC", "IHC", "H-score", "VAF"]
UNITS = sorted({lab.unit for lab in terminology.labs().values()} | {"umol/L", "10^3/uL", "g/L", "mmol/L"})


class PlainLabels:
    """Labels without Django's trailing colon: they read as plain questions and names."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class ShownVersion(forms.Form):
    """Carries the version of the row the form was shown with, so that saving it can tell whether the row
    was saved again since (`profile_update`, `profile_fact_save`)."""

    shown_version = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instance = getattr(self, "instance", None)
        if instance is not None and instance.pk is not None:
            self.fields["shown_version"].initial = instance.version

    def shown(self) -> str | None:
        """The version the page was shown with; None from a caller that sends none."""
        return self.cleaned_data.get("shown_version") or None


class RegistrationForm(PlainLabels, BaseUserCreationForm):
    """A new patient account. Names are asked for because consent is signed by typing the full name."""

    first_name = forms.CharField(label="First name", max_length=150)
    last_name = forms.CharField(label="Last name", max_length=150)

    class Meta:
        model = User
        fields = ("first_name", "last_name", "email")
        labels: ClassVar[dict[str, str]] = {"email": "E-mail address"}

    def validate_unique(self) -> None:
        # Whether an address is registered is told only to its owner, by e-mail (see patient_register).
        pass


class ProfileForm(PlainLabels, ShownVersion, forms.ModelForm):
    """About you: the facts kept on the profile itself."""

    ecog = forms.TypedChoiceField(
        label="How much can you do in a normal day?",
        choices=ECOG_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
        help_text="Doctors call this your ECOG performance status. Pick the sentence closest to you.",
        error_messages={"invalid_choice": ECOG_MESSAGE},
    )
    breastfeeding = forms.NullBooleanField(
        label="Are you breastfeeding?",
        required=False,
        widget=forms.Select(choices=[("unknown", "Not stated"), ("true", "Yes"), ("false", "No")]),
    )

    class Meta:
        model = PatientProfile
        fields = (
            "birth_date",
            "sex",
            "postcode",
            "ecog",
            "pregnancy_status",
            "breastfeeding",
            "history_confirmed_on",
        )
        labels: ClassVar[dict[str, str]] = {
            "birth_date": "Date of birth",
            "sex": "Sex recorded at birth",
            "postcode": "Postcode or ZIP code",
            "pregnancy_status": "Pregnancy",
            "history_confirmed_on": "Date you last checked that the lists below are complete",
        }
        help_texts: ClassVar[dict[str, str]] = {
            "postcode": "Used to find trial sites near you.",
            "history_confirmed_on": "Leave empty if you are not sure the lists below are complete.",
        }
        widgets: ClassVar[dict[str, Any]] = {"birth_date": DATE, "history_confirmed_on": DATE}

    def profile_fields(self) -> dict[str, Any]:
        """The cleaned values of the profile's own fields, for `profile_update`."""
        return {name: self.cleaned_data[name] for name in self._meta.fields or ()}


NUMBER_AS_TYPED = "Enter a number, with a point for decimals (1.5, not 1,5) and no thousands separator."


PARTIAL_DATE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
PARTIAL_DATE_FORMS = "a year (2019), a month (2019-03) or a day (2019-03-12)"


class PartialDateField(forms.DateField):
    """A date known by its day, its month or its year only, as a patient often knows a diagnosis or an
    operation: 2019-03-12, 2019-03 or 2019. It is stored as the first day of what was given, with its
    precision (`<date>_precision`), which matching reads as any day of that month or year."""

    widget = forms.TextInput(
        attrs={"inputmode": "numeric", "autocomplete": "off", "placeholder": "YYYY, YYYY-MM or YYYY-MM-DD"}
    )
    default_error_messages = {"invalid": f"Give the date as {PARTIAL_DATE_FORMS}."}

    def to_python(self, value: Any) -> date | None:
        return self.read(value)[0]

    def read(self, value: Any) -> tuple[date | None, str]:
        """The first day of what `value` gives, and how much it gives."""
        if isinstance(value, date):  # an API client's date, read by its serializer: a day
            return value, DatePrecision.DAY
        text = str(value or "").strip()
        if not text:
            return None, DatePrecision.DAY
        found = PARTIAL_DATE.fullmatch(text)
        if found is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        year, month, day = found.groups()
        try:
            first = date(int(year), int(month or 1), int(day or 1))
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        precision = DatePrecision.DAY if day else DatePrecision.MONTH if month else DatePrecision.YEAR
        return first, precision


class FactForm(PlainLabels, ShownVersion, forms.ModelForm):
    """A form for one kind of profile fact. A date that has a precision (`<date>_precision`) is taken as
    written, by its year, month or day, and shown as it was given."""

    def _post_clean(self) -> None:
        for name, field in self.fields.items():
            if isinstance(field, PartialDateField) and self.cleaned_data.get(name) is not None:
                setattr(self.instance, f"{name}_precision", field.read(self[name].data)[1])
        super()._post_clean()  # type: ignore[misc]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Reports from much of Europe print "1,5"; Django's "Enter a number." does not say what is wrong.
        for field in self.fields.values():
            if isinstance(field, forms.DecimalField):
                field.error_messages["invalid"] = NUMBER_AS_TYPED
        for name, field in list(self.fields.items()):
            precision = f"{name}_precision"
            if not hasattr(self.instance, precision):
                continue
            help_text = " ".join(
                str(part) for part in (field.help_text, f"Give {PARTIAL_DATE_FORMS}.") if part
            )
            self.fields[name] = PartialDateField(
                label=field.label, required=field.required, help_text=help_text
            )
            given = getattr(self.instance, name)
            if given is not None:
                self.initial[name] = date_as_given(given, getattr(self.instance, precision))


class DiagnosisForm(FactForm):
    condition = forms.CharField(
        label="Illness or condition",
        help_text="Start typing and pick from the list, for example 'lung adenocarcinoma'.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "data-autocomplete": "condition"}),
    )

    class Meta:
        model = Diagnosis
        fields = ("presence", "diagnosed_on", "stage", "histology", "course", "resolved")
        labels: ClassVar[dict[str, str]] = {
            "presence": "Do you have it?",
            "diagnosed_on": "When was it diagnosed?",
            "stage": "Stage (if you know it)",
            "histology": "Tissue type (if you know it)",
            "course": "For a cancer: where things stand (if you know)",
            "resolved": "It is over: resolved, or in remission",
        }
        help_texts: ClassVar[dict[str, str]] = {
            "stage": "As written in your report, e.g. IIIB or IV.",
            "course": "Newly diagnosed; come back after treatment (recurrent or relapsed); or not responding"
            " to treatment (refractory). Many trials take only one of these.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        presence: Any = self.fields["presence"]
        presence.choices = [("present", "Yes, I have it"), ("absent", "No, it was ruled out")]
        if self.instance.pk:
            self.fields["condition"].initial = self.instance.label

    def _post_clean(self) -> None:
        # Without a known condition the model has no code to check; the field already says what is wrong.
        if "condition" not in self.errors:
            super()._post_clean()

    def clean_condition(self) -> str:
        text = self.cleaned_data["condition"].strip()
        concept = _diagnosis_by_label(text)
        if concept is None:
            found, _ = terminology.link(text, "condition")
            concept = found if found is not None and found.system == "diagnosis" else None
        if concept is None:
            raise forms.ValidationError("We could not find this condition. Please pick one from the list.")
        self.instance.code, self.instance.label = concept.code, concept.label
        return concept.label


def _diagnosis_by_label(text: str) -> Any:
    key = text.casefold()
    for entry in terminology.vocabulary()["condition"]:
        if key == entry.concept.code or key in (term.casefold() for term in entry.synonyms):
            return entry.concept
    return None


class BiomarkerForm(FactForm):
    class Meta:
        model = Biomarker
        fields = (
            "gene",
            "alteration_type",
            "protein_change",
            "status",
            "measure",
            "value",
            "unit",
            "assay",
            "tested_on",
        )
        labels: ClassVar[dict[str, str]] = {
            "gene": "Gene or marker",
            "alteration_type": "What was found",
            "protein_change": "Exact change (if given)",
            "status": "Result",
            "measure": "Score type (if given)",
            "value": "Score or amount (if given)",
            "unit": "Unit",
            "assay": "Test used (if given)",
            "tested_on": "Date of the test",
        }
        help_texts: ClassVar[dict[str, str]] = {
            "gene": "As written in your report, e.g. EGFR, ALK, HER2, PD-L1, TMB.",
            "protein_change": "e.g. L858R, exon 19 deletion, V600E.",
            "value": "e.g. 50 for a PD-L1 score of 50%.",
        }
        widgets: ClassVar[dict[str, Any]] = {
            "gene": forms.TextInput(attrs={"list": "genes", "autocomplete": "off"}),
            "measure": forms.TextInput(attrs={"list": "measures", "autocomplete": "off"}),
            "unit": forms.TextInput(attrs={"list": "biomarker-units", "autocomplete": "off"}),
            "assay": forms.TextInput(attrs={"list": "assays", "autocomplete": "off"}),
            "tested_on": DATE,
        }


class LabResultForm(FactForm):
    class Meta:
        model = LabResult
        fields = ("analyte", "value", "unit", "reference_low", "reference_high", "collected_on")
        labels: ClassVar[dict[str, str]] = {
            "analyte": "Test",
            "value": "Result",
            "unit": "Unit",
            "reference_low": "Normal range: from",
            "reference_high": "Normal range: to",
            "collected_on": "Date of the blood test",
        }
        help_texts: ClassVar[dict[str, str]] = {
            "analyte": "e.g. platelet count, total bilirubin.",
            "unit": "Exactly as on your report, e.g. 10^9/L or mg/dL.",
            "reference_high": "Your lab report usually prints the normal range beside the result.",
        }
        widgets: ClassVar[dict[str, Any]] = {
            "analyte": forms.TextInput(attrs={"list": "labs", "autocomplete": "off"}),
            "unit": forms.TextInput(attrs={"list": "lab-units", "autocomplete": "off"}),
            "collected_on": DATE,
        }


class TherapyForm(FactForm):
    class Meta:
        model = Therapy
        # `ended`: a course stopped on a date not known (often a record's "completed" course): without it on
        # the form, a wrong import could not be corrected, nor such a course recorded.
        fields = ("drug", "line", "started_on", "ended_on", "ended")
        labels: ClassVar[dict[str, str]] = {
            "drug": "Medicine",
            "line": "Treatment line (if you know it)",
            "started_on": "Started",
            "ended_on": "Stopped",
            "ended": "Stopped, but I do not know when",
        }
        help_texts: ClassVar[dict[str, str]] = {
            "drug": "Start typing, e.g. osimertinib or carboplatin.",
            "line": "1 for the first treatment for this cancer, 2 for the next, and so on.",
            "ended_on": "Leave empty if you still take it.",
            "ended": "Tick if you no longer take it and the date is not known.",
        }
        widgets: ClassVar[dict[str, Any]] = {
            "drug": forms.TextInput(attrs={"autocomplete": "off", "data-autocomplete": "therapy"}),
            "started_on": DATE,
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The model's rule, whose message names the range, instead of the database column's "at least 0".
        line = self.fields["line"]
        line.validators = [plausible_therapy_line]
        line.widget.attrs.update(min=1, max=MAX_THERAPY_LINE)


class ProcedureForm(FactForm):
    class Meta:
        model = Procedure
        fields = ("name", "performed_on")
        labels: ClassVar[dict[str, str]] = {"name": "Operation or procedure", "performed_on": "Date"}
        help_texts: ClassVar[dict[str, str]] = {"name": "e.g. lobectomy, radiotherapy to the chest."}
        widgets: ClassVar[dict[str, Any]] = {
            "name": forms.TextInput(attrs={"autocomplete": "off", "data-autocomplete": "procedure"}),
        }


class ConsentForm(PlainLabels, forms.Form):
    """Signing one consent document: nothing is pre-ticked and the full name is typed by hand."""

    document = forms.IntegerField(widget=forms.HiddenInput)
    trial = forms.IntegerField(
        required=False,
        widget=forms.HiddenInput,
        error_messages={"invalid": "There is no such trial to share your profile with."},
    )
    read = forms.BooleanField(label="I have read this text and I agree to it.", required=True)
    typed_name = forms.CharField(
        label="Type your full name to sign",
        max_length=200,
        help_text="Typing your name here counts as your signature.",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )


class WithdrawForm(PlainLabels, forms.Form):
    purpose = forms.CharField(required=False, widget=forms.HiddenInput)
    trial = forms.IntegerField(required=False, widget=forms.HiddenInput)
    reason = forms.CharField(label="Reason (optional)", max_length=500, required=False)

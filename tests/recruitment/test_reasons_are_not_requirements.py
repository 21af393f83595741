"""The NCI template sentences on pregnancy, contraception and breastfeeding (about one trial in seven of the
2026 registry, data/oncology_trials_2026) give reasons and say what to do later in the study. Read as
requirements they asked every patient to be pregnant and to have had the drugs named, so that Omar (a man)
and Clara (a woman who is not pregnant) failed those trials. Each sentence below is copied from the registry.
No database."""

import datetime

import pytest

from nlp import iter_atoms, parse_eligibility
from recruitment.matching import DiagnosisFact, PatientFacts, TherapyFact, evaluate

TODAY = datetime.date(2026, 12, 7)
LUNG = (DiagnosisFact("diagnosis:1", "luad", "lung adenocarcinoma"),)
OMAR = PatientFacts(birth_date=datetime.date(1961, 4, 2), sex="male", diagnoses=LUNG)
CLARA = PatientFacts(
    birth_date=datetime.date(1979, 8, 14),
    sex="female",
    pregnancy_status="not_pregnant",
    breastfeeding=False,
    diagnoses=LUNG,
)
PIA = PatientFacts(
    birth_date=datetime.date(1990, 2, 3), sex="female", pregnancy_status="pregnant", diagnoses=LUNG
)
BEA = PatientFacts(
    birth_date=datetime.date(1991, 6, 9),
    sex="female",
    pregnancy_status="not_pregnant",
    breastfeeding=True,
    diagnoses=LUNG,
)

# NCT04762199, NCT04633239, NCT04107077, NCT04930783, NCT04830137, NCT06654050 (inclusion criteria)
CONTRACEPTION_PARAGRAPHS = (
    "The effects of MRX-2843 and osimertinib on the developing human fetus are unknown. For this reason,"
    " women of child-bearing potential and men must agree to use adequate contraception (hormonal or barrier"
    " method of birth control; abstinence) prior to study entry and for the duration of study participation."
    " Should a woman become pregnant or suspect she is pregnant while she or her partner is participating in"
    " this study, she should inform her treating physician immediately.",
    "The effects of abemaciclib and olaparib on the developing human fetus are unknown. For this reason and"
    " because CDK-and PARP-inhibiting agents are known to be teratogenic, women of child-bearing potential"
    " and their partners must agree to use adequate contraception (hormonal or barrier method of birth"
    " control; abstinence) prior to study entry and for the duration of study participation.",
    "Because cisplatin and Mitomycin C are pregnancy category D and potentially teratogenic, women of"
    " child-bearing potential and men must agree to use adequate contraception (hormonal or barrier method of"
    " birth control; abstinence) prior to study entry and for the duration of study participation.",
    "Because there is an unknown but potential risk for adverse events in nursing infants secondary to"
    " treatment of the mother with study agents, breastfeeding should be discontinued if the mother is"
    " treated Nivolumab or Pembrolizumab.",
    "Patients of child-bearing potential must use adequate contraceptive measures to avoid pregnancy for the"
    " duration of the study as defined in the protocol",
    "Nursing (i.e., breastfeeding/chest feeding) participants must be willing to discontinue nursing from"
    " study treatment initiation through 4 weeks after the last dose of the study drug.",
)


def outcome(text: str, patient: PatientFacts) -> str:
    [verdict] = evaluate(parse_eligibility(text).criteria, patient, today=TODAY).criteria
    return str(verdict.outcome)


@pytest.mark.parametrize("paragraph", CONTRACEPTION_PARAGRAPHS)
def test_omar_a_man_does_not_fail_the_contraception_paragraph(paragraph):
    assert outcome("Inclusion Criteria:\n* " + paragraph + "\n", OMAR) != "violated"


@pytest.mark.parametrize("paragraph", CONTRACEPTION_PARAGRAPHS)
def test_clara_not_pregnant_does_not_fail_the_contraception_paragraph(paragraph):
    assert outcome("Inclusion Criteria:\n* " + paragraph + "\n", CLARA) != "violated"


@pytest.mark.parametrize("paragraph", CONTRACEPTION_PARAGRAPHS)
def test_the_drugs_named_as_a_reason_are_not_required(paragraph):
    [criterion] = parse_eligibility("Inclusion Criteria:\n* " + paragraph + "\n").criteria
    assert [a.text for a in iter_atoms(criterion.tree) if a.kind == "therapy"] == []


class TestThePregnancyExclusionGivenWithItsReason:
    """NCT04107077: the exclusion is pregnancy. The drugs are its reason, and a breastfeeding mother is asked
    to stop, not kept out."""

    TEXT = (
        "Exclusion Criteria:\n* Pregnant women are excluded from this study because cisplatin and Mitomycin C"
        " are class D agents with the potential for teratogenic or abortifacient effects. Because there is an"
        " unknown but potential risk for adverse events in nursing infants secondary to treatment of the"
        " mother with cisplatin and Mitomycin C, breastfeeding should be discontinued if the mother is"
        " treated with cisplatin and Mitomycin C.\n"
    )

    def test_pia_who_is_pregnant_is_excluded_without_having_had_cisplatin(self):
        assert outcome(self.TEXT, PIA) == "violated"

    def test_bea_who_breastfeeds_is_not_excluded(self):
        assert outcome(self.TEXT, BEA) == "satisfied"

    def test_omar_is_not_excluded(self):
        assert outcome(self.TEXT, OMAR) == "satisfied"


class TestWordsThatStillStateARequirement:
    """A reason or a pregnancy word does not make the rest of a criterion go away."""

    def test_pregnancy_or_breastfeeding_with_its_reason_still_excludes_pia_and_bea(self):
        # NCT03935893
        text = (
            "Exclusion Criteria:\n* Women of child-bearing potential who are pregnant or breastfeeding"
            " because of the potentially dangerous effects of the treatment on the fetus or infant.\n"
        )
        assert outcome(text, PIA) != "satisfied"
        assert outcome(text, BEA) != "satisfied"
        assert outcome(text, OMAR) == "satisfied"

    def test_a_cause_that_is_itself_the_exclusion_is_kept(self):
        # NCT02012699, NCT04219254
        [consent] = parse_eligibility(
            "Exclusion Criteria:\n* Unable to provide informed consent because of cognitive impairment\n"
        ).criteria
        assert "cognitive_impairment" in {a.concept.code for a in iter_atoms(consent.tree) if a.concept}
        [risk] = parse_eligibility(
            "Exclusion Criteria:\n* Is at high medical risk because of non-malignant systemic disease"
            " including severe active infections on treatment with antibiotics, antifungals or antivirals.\n"
        ).criteria
        assert "infection" in {a.concept.code for a in iter_atoms(risk.tree) if a.concept}

    def test_the_partners_pregnancy_is_not_the_patients(self):
        # NCT03608631, and a condom rule with pregnant partners
        for text in (
            "If the partner is pregnant or breastfeeding, the subject must use a condom",
            "With pregnant female partners, men must remain abstinent or use a condom",
        ):
            [criterion] = parse_eligibility("Inclusion Criteria:\n* " + text + "\n").criteria
            assert [a.text for a in iter_atoms(criterion.tree) if a.kind == "pregnancy"] == []

    def test_plain_pregnancy_exclusions_are_unchanged(self):
        for text in (
            "Exclusion Criteria:\n* Pregnant or breastfeeding women\n",
            "Exclusion Criteria:\n* Pregnant or lactating women are prohibited from enrolling in this study.",
        ):
            assert outcome(text, PIA) == "violated"
            assert outcome(text, BEA) == "violated"
            assert outcome(text, CLARA) == "satisfied"


class TestContraceptionIsForTheSite:
    """Whether a woman who can become pregnant will use contraception is asked at screening: Clara, who said
    she is not pregnant, is neither failed nor excluded on it; Omar neither."""

    def test_clara_is_not_excluded_for_being_able_to_become_pregnant(self):
        for text in (
            # NCT05094336, NCT04383262, NCT02670707
            "Female participants of childbearing potential unwilling to use protocol specified method of"
            " contraception",
            "Women of child-bearing potential not willing to comply with contraceptive requirements during"
            " the study treatment and for 1 week following the last dose of study drug.",
            "Patients of reproductive potential not willing to use an adequate method of birth control for"
            " the duration of the study.",
        ):
            assert outcome("Exclusion Criteria:\n* " + text + "\n", CLARA) != "violated"
            assert outcome("Exclusion Criteria:\n* " + text + "\n", OMAR) == "satisfied"

    def test_clara_meets_or_is_asked_about_the_contraception_requirement(self):
        # NCT04969835
        text = (
            "Inclusion Criteria:\n* Female patients of childbearing potential must agree to remain abstinent"
            " (refrain from heterosexual intercourse) or use a highly effective contraceptive method\n"
        )
        assert outcome(text, CLARA) != "violated"


def test_hal_on_antiretroviral_therapy_is_excluded_without_an_infection():
    """NCT04762199 excludes HIV-positive patients on antiretroviral therapy and gives reasons: the infections
    the reasons name are not a second condition of the exclusion. Hal has HIV and takes antiretrovirals."""
    hal = PatientFacts(
        birth_date=datetime.date(1970, 1, 5),
        sex="male",
        diagnoses=(*LUNG, DiagnosisFact("diagnosis:2", "hiv", "HIV infection")),
        therapies=(
            TherapyFact("therapy:1", "bictegravir", ("antiviral",), started_on=datetime.date(2015, 3, 1)),
        ),
    )
    text = (
        "Exclusion Criteria:\n* Human immunodeficiency virus (HIV)-positive patients on combination"
        " antiretroviral therapy are ineligible because of the potential for pharmacokinetic interactions"
        " with osimertinib and MRX-2843. In addition, these patients are at increased risk of lethal"
        " infections when treated with marrow-suppressive therapy. Appropriate studies will be undertaken in"
        " patients receiving combination antiretroviral therapy, when indicated.\n"
    )
    assert outcome(text, hal) == "violated"


class TestWhoCanBecomePregnantIsWhomARequirementBinds:
    """ "Of childbearing potential" names whom a requirement binds or defines a term; it is not itself
    required. Omar and Clara were failed by such items in 50 trials."""

    # NCT04677413: a definition of its own, with its criteria listed under it.
    DEFINITION = (
        "Inclusion Criteria:\n* Histologically confirmed lung adenocarcinoma\n\n"
        "A female of child-bearing potential is any woman (regardless of sexual orientation, marital status,"
        " having undergone a tubal ligation, or remaining celibate by choice) who meets the following"
        " criteria:\n\n* Has not undergone a hysterectomy or bilateral oophorectomy; or\n* Has not been"
        " naturally postmenopausal for at least 12 consecutive months (i.e., has had menses at any time in"
        " the preceding 12 consecutive months).\n"
    )
    # NCT02339571: a definition inside the item, after the requirement.
    INLINE = (
        "Inclusion Criteria:\n* Patients must not be pregnant or breast-feeding due to use of cytotoxic"
        " immunotherapy and risk of teratogenic side effects; all patients of childbearing potential must"
        " have a blood test or urine study within 2 weeks prior to randomization to rule out pregnancy; a"
        " patient of childbearing potential is anyone, regardless of whether they have undergone tubal"
        " ligation, who meets the following criteria: 1) has not undergone a hysterectomy or bilateral"
        " oophorectomy; or 2) has not been naturally postmenopausal for at least 24 consecutive months (i.e.,"
        " has had menses at any time in the preceding 24 consecutive months)\n"
    )
    # NCT04181060
    TEST = (
        "Inclusion Criteria:\n* All females of childbearing potential must have a blood test or urine study"
        " within 14 days prior to randomization to rule out pregnancy\n"
    )

    def test_omar_and_clara_fail_none_of_them(self):
        for text in (self.DEFINITION, self.INLINE, self.TEST):
            for patient in (OMAR, CLARA):
                verdicts = evaluate(parse_eligibility(text).criteria, patient, today=TODAY).criteria
                assert "violated" not in [str(v.outcome) for v in verdicts]

    def test_pia_who_is_pregnant_still_fails_the_inline_requirement(self):
        assert outcome(self.INLINE, PIA) == "violated"

    def test_a_pregnancy_test_for_women_who_can_become_pregnant_still_fails_pia(self):
        text = (
            "Inclusion Criteria:\n* Women of childbearing potential must have a negative serum pregnancy test"
            " within 7 days prior to registration\n"
        )
        assert outcome(text, PIA) == "violated"
        assert outcome(text, CLARA) != "violated"
        assert outcome(text, OMAR) != "violated"


# NCT02332668 (inclusion criteria)
NOT_A_WOCBP_OR_USES_CONTRACEPTION = (
    "Female participant is not a woman of childbearing potential (WOCBP) or is a WOCBP who is abstinent"
    " from heterosexual intercourse or using contraception during the intervention period and for at least"
    " 120 days after the last dose of study intervention"
)


def test_omar_meets_not_a_wocbp_or_a_wocbp_using_contraception():
    """The "not" denies only that she can become pregnant: read over the pairing with its contraception, it
    asked everyone who cannot become pregnant (Omar) to be a WOCBP who does not use contraception."""
    text = "Inclusion Criteria:\n* " + NOT_A_WOCBP_OR_USES_CONTRACEPTION + "\n"
    assert outcome(text, OMAR) != "violated"
    assert outcome(text, CLARA) != "violated"


def test_a_for_whom_header_binds_only_its_population():
    """NCT06124118: the items under "For subjects of childbearing potential:" bind only them; Omar met the
    pregnancy test and still failed the header."""
    text = (
        "Inclusion Criteria:\n* For subjects of childbearing potential:\n\n"
        "   * Negative pregnancy test or evidence of post-menopausal status. The post-menopausal status will"
        " be defined as having been amenorrheic for 12 months without an alternative medical cause.\n"
    )
    assert outcome(text, OMAR) != "violated"

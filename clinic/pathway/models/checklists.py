"""Versioned screening checklists (DOMAIN.md §2).

A template's items are fixed once anyone has answered it: a change makes a new version
(`services.checklist_template_new_version`), and every completed checklist keeps pointing at
the version its answers were given against.
"""

from django.conf import settings
from django.db import models

from clinic.core.history import track_changes
from clinic.core.models import PublicModel
from clinic.pathway.models.choices import Drug, YesNoUnknown


class ChecklistKind(models.TextChoices):
    ELIGIBILITY = "eligibility", "Eligibility and contraindications"
    PRE_SESSION = "pre_session", "Pre-session"
    DISCHARGE = "discharge", "Discharge"


class ItemEffect(models.TextChoices):
    """What the trigger answer does.

    On an eligibility checklist BLOCK is an absolute contraindication (no override) and
    WARN a relative one (a prescriber documents why treatment may still go ahead). On a
    pre-session checklist a prescriber may override a BLOCK with a reason.
    """

    BLOCK = "block", "Block"
    WARN = "warn", "Warn"
    NONE = "none", "Not applicable"


@track_changes
class ChecklistTemplate(PublicModel):
    kind = models.CharField(max_length=16, choices=ChecklistKind.choices)
    code = models.SlugField(max_length=40, help_text="Stable name shared by every version.")
    title = models.CharField(max_length=120)
    version = models.PositiveSmallIntegerField(default=1)
    clinic = models.ForeignKey(
        "patients.Clinic",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="checklist_templates",
        help_text="Leave blank for the default every clinic uses unless it has its own.",
    )
    is_active = models.BooleanField(
        default=True, help_text="The active version is the one new checklists use."
    )
    previous_version = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["kind", "code", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["code", "version"],
                condition=models.Q(clinic__isnull=True),
                name="checklist_default_code_version_unique",
            ),
            models.UniqueConstraint(
                fields=["clinic", "code", "version"], name="checklist_clinic_code_version_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(version__gte=1), name="checklist_version_positive"
            ),
        ]

    def __str__(self):
        return f"{self.title} v{self.version}"

    @property
    def in_use(self):
        return self.responses.exists()


@track_changes
class ChecklistItem(models.Model):
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.PROTECT, related_name="items")
    position = models.PositiveSmallIntegerField()
    code = models.CharField(max_length=24)
    prompt = models.CharField(max_length=300)
    trigger_answer = models.CharField(
        max_length=8,
        choices=[(YesNoUnknown.YES, "Yes"), (YesNoUnknown.NO, "No")],
        default=YesNoUnknown.YES,
        help_text="The answer that has the effects below.",
    )
    effect_ketamine = models.CharField(
        max_length=8, choices=ItemEffect.choices, default=ItemEffect.NONE
    )
    effect_esketamine = models.CharField(
        max_length=8, choices=ItemEffect.choices, default=ItemEffect.NONE
    )
    help_text = models.CharField(max_length=300, blank=True)
    system = models.BooleanField(
        default=False,
        help_text="Answered by the application from the record (consent, plan, weight, "
        "vitals, ledger), not by the clinician.",
    )
    overridable = models.BooleanField(
        default=True,
        help_text="A prescriber may override a blocking answer with a written reason.",
    )

    class Meta:
        ordering = ["template", "position"]
        constraints = [
            models.UniqueConstraint(fields=["template", "code"], name="checklist_item_code_unique"),
            models.UniqueConstraint(
                fields=["template", "position"], name="checklist_item_position_unique"
            ),
        ]

    def __str__(self):
        return f"{self.code}: {self.prompt}"

    def effect_for(self, drug):
        return self.effect_esketamine if drug == Drug.ESKETAMINE else self.effect_ketamine


class ChecklistResponse(PublicModel):
    """One completion of a checklist template, for one course (and, later, one session)."""

    template = models.ForeignKey(
        ChecklistTemplate, on_delete=models.PROTECT, related_name="responses"
    )
    course = models.ForeignKey(
        "pathway.TreatmentCourse", on_delete=models.PROTECT, related_name="checklists"
    )
    drug = models.CharField(max_length=16, choices=Drug.choices)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.template} for {self.course_id}"


@track_changes
class ChecklistAnswer(models.Model):
    response = models.ForeignKey(
        ChecklistResponse, on_delete=models.PROTECT, related_name="answers"
    )
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="+")
    answer = models.CharField(
        max_length=8, choices=YesNoUnknown.choices, default=YesNoUnknown.UNKNOWN
    )
    justification = models.TextField(
        blank=True, help_text="Why treatment may go ahead despite this answer."
    )
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    answered_at = models.DateTimeField(null=True)
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    override_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["item__position"]
        constraints = [
            models.UniqueConstraint(fields=["response", "item"], name="checklist_answer_unique"),
            models.CheckConstraint(
                condition=models.Q(overridden_by__isnull=True) | ~models.Q(override_reason=""),
                name="checklist_override_has_reason",
            ),
            models.CheckConstraint(
                condition=models.Q(answer__in=YesNoUnknown.values), name="checklist_answer_valid"
            ),
        ]

    def __str__(self):
        return f"{self.item.code}: {self.answer}"

    @property
    def is_overridden(self):
        return self.overridden_by_id is not None

    @property
    def effect(self):
        """The effect this answer has on the response's drug, or NONE."""
        if self.answer != self.item.trigger_answer:
            return ItemEffect.NONE
        return self.item.effect_for(self.response.drug)

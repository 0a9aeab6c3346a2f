"""Default pre-session (DOMAIN.md §2.2) and discharge (§5) checklists, version 1.

Copied here rather than imported so that this migration means the same thing forever; later
changes are new versions made in the admin.

Each item: (code, prompt, trigger answer, effect for ketamine, effect for esketamine,
system, overridable). "system" items are answered by the application from the record.
"""

from django.db import migrations

B, W, N = "block", "warn", "none"
YES, NO = "yes", "no"

PRE_SESSION = [
    ("PS-ID", "Identity confirmed with 2 identifiers", NO, B, B, False, True),
    ("PS-CONSENT", "Consent on file, not withdrawn", NO, B, B, True, True),
    ("PS-REMS", "Enrolled in the esketamine REMS", NO, N, B, True, True),
    ("PS-PLAN", "Approved plan covers today's drug, route and dose", NO, B, B, True, True),
    ("PS-FAST", "Fasting rules followed (E: food 2 h, liquids 30 min; IV/IM: solids 6 h, "
     "clear fluids 2 h)", NO, W, W, False, True),
    ("PS-ESCORT", "Escort arranged (name, phone, relationship)", NO, B, B, False, True),
    ("PS-NODRIVE", "Agrees: no driving or machinery until the next day after sleep", NO, B, B,
     False, True),
    ("PS-MEDCHG", "Medication changed since the last session?", YES, W, W, False, True),
    ("PS-MEDTODAY", "Benzodiazepine, opioid, sleeping pill, stimulant or MAOI today?", YES, W, W,
     False, True),
    ("PS-SUBST", "Alcohol, cannabis or other drugs in the last 24 h?", YES, W, W, False, True),
    ("PS-PREG", "If able to conceive: possibly pregnant or a positive test?", YES, B, B, False,
     True),
    ("PS-ILL", "Acutely unwell, or a blocked nose for intranasal routes?", YES, W, W, False, True),
    ("PS-NASAL", "Nasal steroid or decongestant less than 1 h ago?", YES, N, W, False, True),
    ("PS-SE", "Side effects since the last session reviewed (urinary, cravings)", NO, B, B, False,
     True),
    ("PS-MEASURES", "Due instruments done (PHQ-9, C-SSRS since the last visit)", NO, B, B, True,
     True),
    ("PS-SAFETY", "No unreviewed suicide-risk alert", NO, B, B, True, True),
    ("PS-WEIGHT", "mg/kg plans: weight measured in the last 30 days", NO, B, B, True, True),
    ("PS-VITALS", "Baseline vitals within the go/no-go limits", NO, B, B, True, True),
    ("PS-EQUIP", "Pulse oximeter and emergency kit checked; E: prescriber on site", NO, B, B,
     False, True),
]  # fmt: skip

DISCHARGE = [
    ("DC-TIME", "Minimum observation time has passed (E: 120 min from the first device; IV: 30 "
     "min after the infusion; other routes: 60 min after the dose)", NO, B, B, True, False),
    ("DC-MOAAS", "MOAA/S = 5", NO, B, B, False, True),
    ("DC-DISSOC", "Dissociation resolved or near the pre-dose level", NO, B, B, False, True),
    ("DC-VITALS", "BP and HR normal or near baseline; SpO2 >= 94% on room air", NO, B, B, False,
     True),
    ("DC-MOBILE", "Walks steadily; nausea controlled; drinks fluids", NO, B, B, False, True),
    ("DC-MOOD", "No new suicidal thoughts; emotional state reviewed", NO, B, B, False, False),
    ("DC-ESCORT", "Escort present (name, relationship)", NO, B, B, False, True),
    ("DC-INSTR", "Told: no driving until the next day after sleep; no alcohol or cannabis for "
     "24 h; no major decisions for 24 h; crisis and clinic numbers", NO, B, B, False, False),
    ("DC-AE", "Every in-session side effect documented with its status", NO, B, B, True, False),
    ("DC-LEDGER", "Administered + wasted = drawn; waste witnessed", NO, B, B, True, False),
]  # fmt: skip

TEMPLATES = [
    ("pre_session", "pre-session", "Pre-session checklist", PRE_SESSION),
    ("discharge", "discharge", "Discharge criteria", DISCHARGE),
]


def create(apps, schema_editor):
    template_model = apps.get_model("pathway", "ChecklistTemplate")
    item_model = apps.get_model("pathway", "ChecklistItem")
    for kind, code, title, items in TEMPLATES:
        template = template_model.objects.create(
            kind=kind, code=code, title=title, version=1, is_active=True
        )
        item_model.objects.bulk_create(
            item_model(
                template=template,
                position=position,
                code=item_code,
                prompt=prompt,
                trigger_answer=trigger,
                effect_ketamine=ketamine,
                effect_esketamine=esketamine,
                system=system,
                overridable=overridable,
            )
            for position, (item_code, prompt, trigger, ketamine, esketamine, system, overridable)
            in enumerate(items, start=1)
        )


def remove(apps, schema_editor):
    template_model = apps.get_model("pathway", "ChecklistTemplate")
    item_model = apps.get_model("pathway", "ChecklistItem")
    templates = template_model.objects.filter(
        code__in=[code for _, code, _, _ in TEMPLATES], version=1, clinic=None
    )
    item_model.objects.filter(template__in=templates).delete()
    templates.delete()


class Migration(migrations.Migration):
    dependencies = [("pathway", "0006_checklist_system_and_override")]

    operations = [migrations.RunPython(create, remove)]

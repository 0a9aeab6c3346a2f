"""The default eligibility and contraindication checklist of DOMAIN.md §2.1, version 1.

Copied here rather than imported so that this migration means the same thing forever; later
changes are new versions made in the admin, never edits of this one.
"""

from django.db import migrations

B, W, N = "block", "warn", "none"

# (code, prompt, effect for racemic ketamine, effect for esketamine)
ITEMS = [
    ("CI-ANEURYSM", "Aneurysmal vascular disease (aorta, intracranial, peripheral arteries)", B, B),
    ("CI-AVM", "Arteriovenous malformation", B, B),
    ("CI-ICH", "Past intracerebral haemorrhage", B, B),
    ("CI-ALLERGY", "Allergy to ketamine, esketamine or an excipient", B, B),
    ("CI-HTN", "Uncontrolled hypertension (resting > 180/100)", B, W),
    ("CI-CARDIAC", "Recent MI, unstable angina, decompensated heart failure, major arrhythmia", B, W),
    ("CI-STROKE", "Previous stroke", B, W),
    ("CI-ICP", "Raised intracranial pressure, brain mass, recent head injury", B, W),
    ("CI-THYROID", "Untreated hyperthyroidism", B, W),
    ("CI-PREG", "Pregnant; pre-eclampsia/eclampsia", B, W),
    ("CI-LACT", "Breastfeeding", B, W),
    ("CI-PSYCHOSIS", "Current psychosis, schizophrenia-spectrum disorder or mania", B, W),
    ("CI-SUD", "Active substance use disorder (not tobacco)", B, W),
    ("CI-SUICIDE", "Suicidal intent or plan needing hospital care now", B, B),
    ("CI-MINOR", "Under 18", B, B),
    ("CI-HEP", "Severe liver impairment (Child-Pugh C)", W, B),
    ("REL-PSY", "Past psychosis, or first-degree relative with psychosis", W, W),
    ("REL-SUD", "Past substance use disorder incl. alcohol; past ketamine/PCP misuse", W, W),
    (
        "REL-CV",
        "Treated hypertension, BP > 140/90, other cardio/cerebrovascular risk, "
        "past hypertensive encephalopathy",
        W,
        W,
    ),
    ("REL-HEP", "Moderate liver impairment", W, W),
    ("REL-BLADDER", "Cystitis or current urinary symptoms", W, W),
    ("REL-IOP", "Glaucoma or raised eye pressure", W, W),
    ("REL-COG", "Cognitive impairment", W, W),
    ("REL-MEDS", "Benzodiazepines, opioids, other sedatives, stimulants or MAOIs", W, W),
    ("REL-AGE65", "Aged 65+", W, W),
    (
        "REL-OTHER",
        "Personality disorder preventing cooperation; past bad reaction to ketamine or "
        "anaesthesia",
        W,
        W,
    ),
]


def create(apps, schema_editor):
    template_model = apps.get_model("pathway", "ChecklistTemplate")
    item_model = apps.get_model("pathway", "ChecklistItem")
    template = template_model.objects.create(
        kind="eligibility",
        code="eligibility",
        title="Eligibility and contraindications",
        version=1,
        is_active=True,
    )
    item_model.objects.bulk_create(
        item_model(
            template=template,
            position=position,
            code=code,
            prompt=prompt,
            trigger_answer="yes",
            effect_ketamine=ketamine,
            effect_esketamine=esketamine,
        )
        for position, (code, prompt, ketamine, esketamine) in enumerate(ITEMS, start=1)
    )


def remove(apps, schema_editor):
    template_model = apps.get_model("pathway", "ChecklistTemplate")
    item_model = apps.get_model("pathway", "ChecklistItem")
    templates = template_model.objects.filter(code="eligibility", version=1, clinic=None)
    item_model.objects.filter(template__in=templates).delete()
    templates.delete()


class Migration(migrations.Migration):
    dependencies = [("pathway", "0002_locks")]

    operations = [migrations.RunPython(create, remove)]

from clinic.pathway.models.assessment import (
    ELIGIBLE_DECISIONS,
    Assessment,
    EligibilityDecision,
    PregnancyTest,
    SuicideRisk,
)
from clinic.pathway.models.checklists import (
    ChecklistAnswer,
    ChecklistItem,
    ChecklistKind,
    ChecklistResponse,
    ChecklistTemplate,
    ItemEffect,
)
from clinic.pathway.models.choices import Drug, Route, YesNoUnknown
from clinic.pathway.models.consultation import ConsentKind, Consultation, ReferralSource
from clinic.pathway.models.course import (
    CLOSED_COURSE_STATUSES,
    CourseStatus,
    CourseStatusChange,
    TreatmentCourse,
)
from clinic.pathway.models.followup import (
    FollowUp,
    FollowUpDecision,
    FollowUpKind,
    FollowUpStatus,
)
from clinic.pathway.models.measurements import BodyMeasurement
from clinic.pathway.models.plan import (
    DoseMode,
    PlanStatus,
    PlanStatusChange,
    TreatmentPlan,
    WeightPolicy,
)
from clinic.pathway.models.session import (
    DOSED_SESSION_STATUSES,
    FINISHED_SESSION_STATUSES,
    AdministrationSession,
    EsketamineDevice,
    SessionStatus,
    SessionStatusChange,
)

__all__ = [
    "CLOSED_COURSE_STATUSES",
    "DOSED_SESSION_STATUSES",
    "ELIGIBLE_DECISIONS",
    "FINISHED_SESSION_STATUSES",
    "AdministrationSession",
    "Assessment",
    "BodyMeasurement",
    "ChecklistAnswer",
    "ChecklistItem",
    "ChecklistKind",
    "ChecklistResponse",
    "ChecklistTemplate",
    "ConsentKind",
    "Consultation",
    "CourseStatus",
    "CourseStatusChange",
    "DoseMode",
    "Drug",
    "EligibilityDecision",
    "EsketamineDevice",
    "FollowUp",
    "FollowUpDecision",
    "FollowUpKind",
    "FollowUpStatus",
    "ItemEffect",
    "PlanStatus",
    "PlanStatusChange",
    "PregnancyTest",
    "ReferralSource",
    "Route",
    "SessionStatus",
    "SessionStatusChange",
    "SuicideRisk",
    "TreatmentCourse",
    "TreatmentPlan",
    "WeightPolicy",
    "YesNoUnknown",
]

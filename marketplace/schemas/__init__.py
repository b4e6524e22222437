"""The marketplace's schemas (validated; never table models), re-exported from one place:
`from marketplace.schemas import JobIn, JobOut`.

* `registry`: sign-up, profiles, review, categories, regulators (in and out);
* `jobs`: jobs, quotes and the award's steps (in);
* `job_outputs`: the jobs API's outputs; `signals`: the collusion signals API's outputs;
* `performance`: the record after the award (contract, service timer, results);
* `contract_templates`: the admins' contract templates (out);
* `key_holders`: the admins' marketseal-v1 key holders (in and out).
"""

from marketplace.schemas.contract_templates import ContractTemplateOut  # noqa: F401
from marketplace.schemas.fields import (  # noqa: F401
    EMAIL_RE,
    PHONE_RE,
    Str100,
    Str200,
    Str300,
    check_credit_code,
    credit_code_message,
)
from marketplace.schemas.job_outputs import (  # noqa: F401
    AgencyJobListOut,
    AgencyJobOut,
    AttachmentOut,
    ContractOut,
    ContractWindowOut,
    DepartmentRefOut,
    DrawCandidateOut,
    DrawRecordOut,
    ExclusionOut,
    JobItemOut,
    JobListOut,
    JobOut,
    JobResultOut,
    JustificationDecisionOut,
    JustificationOut,
    ObjectionOut,
    ObjectionStateOut,
    OpenedQuoteOut,
    QuoteReceiptOut,
    SealedReceiptOut,
    SelectOutcomeOut,
    WinnerOut,
)
from marketplace.schemas.jobs import (  # noqa: F401
    BeaconIn,
    ContractWindowIn,
    DirectChoiceIn,
    JobIn,
    JustificationDecisionIn,
    Money,
    ObjectionDecisionIn,
    QuoteIn,
    ReasonIn,
    SealedQuoteIn,
    local_day_bounds,
)
from marketplace.schemas.key_holders import KeyHolderChange, KeyHolderIn, KeyHolderOut  # noqa: F401
from marketplace.schemas.output import OmitUnset  # noqa: F401
from marketplace.schemas.performance import (  # noqa: F401
    ContractPublicityOut,
    ExtensionDecisionIn,
    ExtensionIn,
    ExtensionOut,
    PerformanceOut,
    ResultFileOut,
    ResultRoundOut,
    TimerOut,
    TimerReasonIn,
    TimerStepOut,
)
from marketplace.schemas.registry import (  # noqa: F401
    AgencyDirectoryOut,
    AgencyOut,
    AgencyProfileIn,
    AgencyPublicOut,
    AgencySignup,
    CategoryIn,
    CategoryOut,
    Decision,
    OrgFields,
    OwnerOut,
    OwnerSignup,
    Page,
    QualificationIn,
    QualificationOut,
    QualificationStateOut,
    RegistrationsOut,
    RegulatorIn,
    RegulatorOut,
    StatusChange,
)
from marketplace.schemas.signals import (  # noqa: F401
    EvidenceOut,
    PairModelOut,
    SignalAgencyOut,
    SignalJobOut,
    SignalOut,
    SignalPairOut,
    SignalPairsOut,
    SignalsOut,
)

"""Decide, record, enqueue: what pages and the API call to make something happen, split by
noun. Refusals are `Refused` (errors.py), which carries the HTTP status and message that
pages and the API both answer."""

from nodes.operations.actions import (
    adopt,
    claim,
    enqueue_action,
    queue_action,
    request_action,
    request_named_action,
)
from nodes.operations.console_output import CONSOLE_OUTPUT_FRESH, console_output, is_recent
from nodes.operations.draining import drain, undrain
from nodes.operations.errors import (
    ActionRefused,
    LaunchInvalid,
    NoRoom,
    NotAllowed,
    QueueUnavailable,
    QuotaExceeded,
    Refused,
)
from nodes.operations.images import import_image, make_image, upload_image
from nodes.operations.launch import (
    LABELS,
    MAX_USER_DATA,
    check_quota,
    check_within_quota,
    encoded_user_data,
    launch,
    launch_cluster,
)
from nodes.operations.migration import (
    abort_migration,
    migrate,
    set_migration_limits,
)
from nodes.operations.probes import (
    CHECK_JOB_PREFIX,
    definition_check,
    request_definition_check,
    request_probe,
)
from nodes.operations.queue import enqueue_node_job, job_queue, redis_is_reachable, require_queue
from nodes.operations.resize import resize
from nodes.operations.tuning import TUNABLE, tune

__all__ = [
    "CHECK_JOB_PREFIX",
    "CONSOLE_OUTPUT_FRESH",
    "LABELS",
    "MAX_USER_DATA",
    "ActionRefused",
    "LaunchInvalid",
    "NoRoom",
    "NotAllowed",
    "QueueUnavailable",
    "QuotaExceeded",
    "TUNABLE",
    "Refused",
    "abort_migration",
    "adopt",
    "check_quota",
    "check_within_quota",
    "claim",
    "console_output",
    "definition_check",
    "drain",
    "encoded_user_data",
    "enqueue_action",
    "enqueue_node_job",
    "import_image",
    "is_recent",
    "job_queue",
    "launch",
    "launch_cluster",
    "make_image",
    "migrate",
    "queue_action",
    "redis_is_reachable",
    "request_action",
    "request_definition_check",
    "request_named_action",
    "resize",
    "request_probe",
    "require_queue",
    "set_migration_limits",
    "tune",
    "undrain",
    "upload_image",
]

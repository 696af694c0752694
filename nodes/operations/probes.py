"""Node probes ("Check connection") and libvirt's own check of a domain definition, queued
for a worker; the outcome of a check is read back from rq."""

import uuid

from django.conf import settings

from nodes.operations.queue import enqueue_node_job, job_queue, require_queue


def request_probe(node):
    """Queue a "Check connection" of node; returns the rq job id."""
    require_queue()
    job_id = f"probe-{node.pk}-{uuid.uuid4().hex[:12]}"
    enqueue_node_job("probe_node", node.pk, job_id, f"Check connection to node {node.name}")
    return job_id


CHECK_JOB_PREFIX = "check-definition-"  # rq job ids of definition checks


def request_definition_check(node, domain_xml):
    """Queue libvirt's own validation of domain_xml on node; returns the rq job id, whose
    outcome `definition_check` reads."""
    require_queue()
    job_id = f"{CHECK_JOB_PREFIX}{uuid.uuid4().hex}"
    job_queue().enqueue(
        "nodes.jobs.check_domain_definition",
        node.pk,
        domain_xml,
        job_id=job_id,
        job_timeout=settings.KUMO_PROBE_TIMEOUT + 30,
        result_ttl=600,
        description=f"Check a domain definition on node {node.name}",
    )
    return job_id


def definition_check(job_id):
    """{"status", "ok", "message"} of a check queued by request_definition_check, or None
    when there is no such check (or it expired)."""
    require_queue()
    job = job_queue().fetch_job(job_id) if job_id.startswith(CHECK_JOB_PREFIX) else None
    if job is None:
        return None
    status = job.get_status().value
    if status == "finished":
        return {"status": status, **job.return_value()}
    if status in ("failed", "stopped", "canceled"):
        message = "The check did not finish (the worker failed); see the worker log."
        return {"status": "failed", "ok": False, "message": message}
    return {"status": status, "ok": None, "message": f"Waiting for a worker ({status})."}

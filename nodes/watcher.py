"""The node watcher: lifecycle events, periodic probes and reconciliation, and recovery of
actions whose worker died. Run by `manage.py runwatcher`.

The hypervisor is the truth for power state, but the watcher never touches an instance with
a task in progress: the action that owns it will record the outcome.
"""

import logging
import socket
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.db.models import Case, F, Value, When
from django.utils import timezone
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.worker import Worker

from nodes import operations
from nodes.addresses import refresh_addresses
from nodes.choices import ActionStatus, NodeStatus, PowerState, TaskState, VmState
from nodes.libvirt import Hypervisor, NodeError
from nodes.libvirt.domains import CHECK_PREFIX
from nodes.libvirt.events import NodeEvents, start_event_loop
from nodes.listing import refresh_planner_statistics
from nodes.models import Action, Instance, Node, UnmanagedDomain
from nodes.probing import probe_and_record
from nodes.states import LIVE_POWER, SETTLED, TASK_FOR, VM_STATE_FOR_POWER
from nodes.workers import process_exists

log = logging.getLogger("nodes.watcher")
PLANNER_STATISTICS_EVERY_S = 3600


def sync_power(node, domain_uuid, power):
    """Record a power state seen on node for the instance with this domain UUID, if it is
    recorded there (a domain that has moved away is no longer its)."""
    idle = Instance.objects.filter(uuid=domain_uuid, node=node, task_state__isnull=True).exclude(
        vm_state__in=[VmState.DELETED, VmState.BUILDING]
    )
    to_state = VM_STATE_FOR_POWER.get(power, VmState.ERROR)  # crashed, or no domain
    # One statement, so that nobody reads the new power state with the old vm_state.
    moves = When(vm_state__in=SETTLED - {to_state}, then=Value(to_state))
    idle.update(power_state=power, vm_state=Case(moves, default=F("vm_state")))


def on_event(node, domain_uuid, power):
    """Runs in libvirt's event thread, where an exception would only reach stderr."""
    try:
        sync_power(node, domain_uuid, power)
    except DatabaseError as error:
        log.warning("event %s of %s not recorded (the sweep will): %s", power, domain_uuid, error)
    finally:
        close_old_connections()


def reconcile(node):
    """Catch what events missed: every idle instance of node gets the state libvirt reports;
    domains Kumo did not create are listed as unmanaged; the running ones' addresses are
    read again."""
    with Hypervisor(node.endpoint(), settings.KUMO_PROBE_TIMEOUT) as hypervisor:
        domains = hypervisor.domains()
        seen = {domain_uuid: power for domain_uuid, _name, power in domains}
        live = Instance.objects.filter(node=node).exclude(
            vm_state__in=[VmState.DELETED, VmState.BUILDING]
        )
        for domain_uuid in live.filter(task_state__isnull=True).values_list("uuid", flat=True):
            sync_power(node, domain_uuid, seen.get(str(domain_uuid), PowerState.NOSTATE))
        follow_moved(node, domains)
        record_unmanaged(node, domains)
        refresh_addresses(hypervisor, node)


def follow_moved(node, domains):
    """An idle instance whose domain runs on node but is recorded on another (its worker
    died as its migration ended) is recorded on node: where it runs is the truth."""
    for domain_uuid, _name, power in domains:
        if power not in LIVE_POWER:
            continue
        moved = Instance.objects.filter(uuid=domain_uuid, task_state__isnull=True)
        moved = moved.exclude(node=node).exclude(vm_state=VmState.DELETED)
        moved.update(node=node, power_state=power, vm_state=VM_STATE_FOR_POWER[power])


def refresh_node_addresses(node):
    """The addresses of node's instances, read again (after a lifecycle event)."""
    try:
        with Hypervisor(node.endpoint(), settings.KUMO_PROBE_TIMEOUT) as hypervisor:
            refresh_addresses(hypervisor, node)
    except NodeError as error:
        log.info("reading the addresses on node %s failed: %s", node.name, error)
    except Exception:
        log.exception("reading the addresses on node %s failed", node.name)
    finally:
        close_old_connections()


def record_unmanaged(node, domains):
    """Keep node's list of unmanaged domains equal to what it runs that Kumo does not know."""
    uuids = [domain_uuid for domain_uuid, _name, _power in domains]
    live = Instance.objects.filter(uuid__in=uuids).exclude(vm_state=VmState.DELETED)
    known = {str(u) for u in live.values_list("uuid", flat=True)}
    foreign = [d for d in domains if d[0] not in known and not d[1].startswith(CHECK_PREFIX)]
    for domain_uuid, name, power in foreign:
        UnmanagedDomain.objects.update_or_create(
            node=node, uuid=domain_uuid, defaults={"name": name, "power_state": power}
        )
    stale = UnmanagedDomain.objects.filter(node=node).exclude(uuid__in=[d[0] for d in foreign])
    stale.delete()


ENDED = (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED, JobStatus.FINISHED)
LOST_AFTER_S = 60  # a queued action's job may lag its row by the commit; not by a minute


def job_of(action):
    """The action's rq job, or None when the queue no longer has it."""
    try:
        return Job.fetch(action.carrier_job_id, connection=operations.job_queue().connection)
    except NoSuchJobError:
        return None


def job_lost(action):
    """True when a queued action will never start: its job vanished from the queue (Redis
    restarted or flushed) or ended without running it."""
    if timezone.now() - action.created_at < timezone.timedelta(seconds=LOST_AFTER_S):
        return False
    job = job_of(action)
    return job is None or job.get_status() in ENDED


def worker_gone(action):
    """True when the rq job of a running action can no longer finish it: the job ended or
    vanished, its worker on this host is no longer a process, or (workers elsewhere) the
    action's heartbeat is older than KUMO_ACTION_STALE_AFTER."""
    connection = operations.job_queue().connection
    job = job_of(action)
    if job is None or job.get_status() in ENDED:
        return True
    worker = (
        Worker.find_by_key(
            Worker.redis_worker_namespace_prefix + job.worker_name, connection=connection
        )
        if job.worker_name
        else None
    )
    if worker is not None and worker.hostname == socket.gethostname():
        horse = worker.horse_pid or worker.pid
        return not (process_exists(worker.pid) and process_exists(horse))
    stale = timezone.now() - timezone.timedelta(seconds=settings.KUMO_ACTION_STALE_AFTER)
    return action.heartbeat_at is not None and action.heartbeat_at < stale


WORKER_DIED = (
    "The worker running this action stopped before finishing (killed or crashed). "
    "What it acted on is usable again: check its state, then retry."
)
JOB_LOST = (
    "This action's job was lost from the queue before a worker started it (Redis restarted "
    "or was emptied). Nothing was done: retry (a launch left its instance in error: "
    "terminate it and launch again)."
)


def why_stuck(action):
    """Why a queued or running action can no longer finish, or None when it can."""
    if action.status == ActionStatus.RUNNING:
        return WORKER_DIED if worker_gone(action) else None
    return JOB_LOST if job_lost(action) else None


def recover_stale_actions():
    """Fail the actions that can no longer finish (their worker died, or their job was lost
    from the queue), and give their instances back."""
    actions = Action.objects.filter(status__in=[ActionStatus.RUNNING, ActionStatus.QUEUED])
    try:
        stuck = [(action, reason) for action in actions if (reason := why_stuck(action))]
    except RedisError:
        return  # the queue is down: nothing can be told apart now
    for action, reason in stuck:
        status = action.status
        action.refresh_from_db(fields=["status"])
        if action.status != status:
            continue  # it moved on meanwhile
        log.warning("action %s (%s): %s", action.pk, action.kind, reason)
        action.fail(reason)
        action.release_instance({TASK_FOR.get(action.kind), TaskState.SPAWNING} - {None})
        action.undo_unfinished()


class Watcher:
    """One probe in flight per node at most; a slow node never delays the others."""

    def __init__(self, max_parallel=8):
        self.pool = ThreadPoolExecutor(max_workers=max_parallel, thread_name_prefix="watch")
        self.in_flight = {}
        self.events = {}
        self.address_refresh = {}
        self.statistics_at = None

    def sweep(self):
        """Probe and reconcile every enabled node; recover actions whose worker died; now
        and then, refresh the database's planner statistics."""
        self.in_flight = {pk: f for pk, f in self.in_flight.items() if not f.done()}
        for node in Node.objects.filter(enabled=True):
            if node.pk not in self.in_flight:
                self.in_flight[node.pk] = self.pool.submit(self.check, node)
        recover_stale_actions()
        now = time.monotonic()
        if self.statistics_at is None or now - self.statistics_at > PLANNER_STATISTICS_EVERY_S:
            refresh_planner_statistics()
            self.statistics_at = now

    def listen(self):
        """Keep an event connection to every enabled node (new ones, reconnections)."""
        start_event_loop()
        nodes = {node.pk: node for node in Node.objects.filter(enabled=True)}
        for pk in set(self.events) - set(nodes):
            self.events.pop(pk).close()
        for pk, node in nodes.items():
            if pk not in self.events:
                self.events[pk] = NodeEvents(
                    node.endpoint(), settings.KUMO_PROBE_TIMEOUT, self.on_event_of(node)
                )
            self.events[pk].ensure()

    def on_event_of(self, node):
        """The callback for node's events: record the power state, and have the pool read
        the node's addresses soon (libvirt's event thread must not wait on a node)."""

        def recorded(domain_uuid, power):
            on_event(node, domain_uuid, power)
            queued = self.address_refresh.get(node.pk)
            if queued is None or queued.running() or queued.done():  # else it covers this
                self.address_refresh[node.pk] = self.pool.submit(refresh_node_addresses, node)

        return recorded

    @staticmethod
    def check(node):
        try:
            if probe_and_record(node) and node.status == NodeStatus.UP:
                reconcile(node)
        except NodeError as error:
            log.info("reconciling node %s failed: %s", node.name, error)
        except Exception:
            log.exception("watching node %s failed", node.name)
        finally:
            close_old_connections()

    def wait(self):
        for future in list(self.in_flight.values()):
            future.result()

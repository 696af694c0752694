"""Actions: every libvirt operation requested on an instance, its progress and outcome."""

import uuid
from pathlib import Path

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from nodes.choices import ActionKind, ActionStatus, ImageStatus, SnapshotStatus, VmState
from nodes.models.images import Image
from nodes.models.instances import Instance
from nodes.querysets import VisibleQuerySet
from nodes.states import SNAPSHOT_TASK, VOLUME_AFTER_FAILURE, VOLUME_TASK
from nodes.storage.models import ATTACHED, Volume, VolumeSnapshot, release_launch_volumes


class Action(models.Model):
    """One action on one instance or volume (attach and detach: on both): who asked, the
    steps done with their times, the outcome.

    Outcomes live here, not in rq (its results expire)."""

    MEMBER_VISIBILITY = "own_instance_or_volume"

    instance = models.ForeignKey(
        "nodes.Instance",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="actions",
        help_text="Empty for an action on a volume or volume snapshot alone.",
    )
    volume = models.ForeignKey(
        "storage.Volume",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="actions",
        help_text="The volume it creates, deletes, attaches or detaches.",
    )
    kind = models.CharField(max_length=24, choices=ActionKind)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who asked for it (empty: Kumo itself).",
    )
    snapshot = models.ForeignKey(
        "nodes.Snapshot",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The snapshot a revert or delete is about.",
    )
    image = models.ForeignKey(
        "nodes.Image",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The image a make-an-image action makes.",
    )
    volume_snapshot = models.ForeignKey(
        "storage.VolumeSnapshot",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="actions",
        help_text="The volume snapshot it takes or deletes, or makes an image of.",
    )
    params = models.JSONField(
        default=dict,
        blank=True,
        help_text="What a tune, resize or migration was asked to do (its API fields).",
    )
    progress = models.JSONField(
        default=dict,
        blank=True,
        help_text="A running migration's figures, as libvirt's job statistics last gave them.",
    )
    status = models.CharField(max_length=12, choices=ActionStatus, default=ActionStatus.QUEUED)
    steps = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    job_id = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ActionKind.values), name="action_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ActionStatus.values), name="action_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["status"], name="action_status_idx"),
            models.Index(fields=["created_at", "id"], name="action_created_idx"),
            models.Index(fields=["instance", "created_at", "id"], name="action_instance_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.subject}"

    def get_absolute_url(self):
        return reverse("kumo:action_detail", args=[self.pk])

    @property
    def subject(self):
        """What it acts on, by id: the instance, else the volume, else the snapshot, else
        the image it imports (gone once that image is deleted)."""
        about = self.instance or self.volume or self.volume_snapshot or self.image
        return about.ec2_id if about else "a deleted image"

    @property
    def finished(self):
        return self.status in (ActionStatus.SUCCEEDED, ActionStatus.FAILED)

    def mark_running(self):
        now = timezone.now()
        self.status, self.started_at, self.heartbeat_at = ActionStatus.RUNNING, now, now
        self.save(update_fields=["status", "started_at", "heartbeat_at"])

    def add_step(self, name, detail=""):
        """Record the start of a step (and beat the heart)."""
        now = timezone.now()
        self.steps = [*self.steps, {"name": name, "started_at": now.isoformat(), "detail": detail}]
        self.heartbeat_at = now
        self.save(update_fields=["steps", "heartbeat_at"])

    def finish_step(self, detail=""):
        if self.steps:
            self.steps[-1]["finished_at"] = timezone.now().isoformat()
            if detail:
                self.steps[-1]["detail"] = detail
            self.save(update_fields=["steps"])

    @staticmethod
    def inside(job_id):
        """A job id for an action carried out inside the running job job_id (a drain's)."""
        return f"{job_id}/{uuid.uuid4().hex[:12]}"

    @property
    def carrier_job_id(self):
        """The rq job that carries it out: its own, or the one it runs inside."""
        return self.job_id.split("/")[0]

    def beat(self):
        self.heartbeat_at = timezone.now()
        self.save(update_fields=["heartbeat_at"])

    def succeed(self):
        self.finish_step()
        self.status, self.finished_at = ActionStatus.SUCCEEDED, timezone.now()
        self.save(update_fields=["status", "finished_at"])

    def release_instance(self, tasks):
        """After this action failed, leave its instance actionable if it still holds one of
        tasks: no task; a failed launch is in error; a refused adoption leaves the domain
        alone and unmanaged (listed again at the next sweep)."""
        fields = {"task_state": None}
        if self.kind == ActionKind.LAUNCH:
            fields["vm_state"] = VmState.ERROR
        elif self.kind == ActionKind.ADOPT:
            fields.update(vm_state=VmState.DELETED, terminated_at=timezone.now())
        Instance.objects.filter(pk=self.instance_id, task_state__in=tasks).update(**fields)

    def discard_pending_image(self):
        """After this action failed, remove the image it was making, and its partial file:
        no half-made image is ever registered."""
        if self.image_id is None:
            return
        pending = Image.objects.filter(pk=self.image_id, status=ImageStatus.PENDING).first()
        if pending is None:
            return
        if Path(pending.location).parent == Path(settings.KUMO_IMAGES_DIR):  # only Kumo's file
            Path(pending.location).unlink(missing_ok=True)
            Path(pending.partial_location).unlink(missing_ok=True)
        pending.delete()

    def release_volume(self):
        """After this action failed, leave its volume as states.VOLUME_AFTER_FAILURE says, if
        it is still in the state the action set (terminate may have freed it meanwhile); a
        failed launch's volumes as release_launch_volumes says."""
        if self.kind == ActionKind.LAUNCH:
            release_launch_volumes(self.instance)
        if self.volume_id is None or self.kind not in VOLUME_AFTER_FAILURE:
            return
        status = VOLUME_AFTER_FAILURE[self.kind]
        fields = {"status": status}
        if status not in ATTACHED:
            fields.update(instance=None, device="")
        busy = Volume.objects.filter(pk=self.volume_id, status=VOLUME_TASK[self.kind])
        busy.update(**fields)

    def release_volume_snapshot(self):
        """After this action failed, its volume snapshot (if it was making or deleting one)
        is in error: left to delete."""
        if self.volume_snapshot_id is None or self.kind not in SNAPSHOT_TASK:
            return
        VolumeSnapshot.objects.filter(
            pk=self.volume_snapshot_id, status=SNAPSHOT_TASK[self.kind]
        ).update(status=SnapshotStatus.ERROR)

    def undo_unfinished(self):
        """After this action failed or was taken over: no half-made image, no volume or
        volume snapshot left in its state."""
        self.discard_pending_image()
        self.release_volume()
        self.release_volume_snapshot()

    def fail(self, error):
        self.status, self.error, self.finished_at = ActionStatus.FAILED, error, timezone.now()
        self.save(update_fields=["status", "error", "finished_at"])

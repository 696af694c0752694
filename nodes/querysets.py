"""The one rule for who sees what: `Model.objects.for_user(user)`.

Pages, the API, form choices and consoles all start from it. Staff see everything; members
see what each model's MEMBER_VISIBILITY allows:

- "all": every row (instance types, clusters),
- "none": nothing (nodes),
- "own": rows whose owner is the member (keypairs, instances),
- "own_instance": rows about the member's instances (snapshots),
- "own_instance_or_volume": rows about the member's instances, volumes or volume snapshots
  (actions),
- "own_or_public": own rows and those marked public (images).
"""

from django.contrib.auth import get_user_model
from django.db import models

from nodes.choices import ImageStatus, VmState
from nodes.states import HOLDS_RESOURCES


class VisibleQuerySet(models.QuerySet):
    def for_user(self, user):
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_staff:
            return self.all()
        visibility = self.model.MEMBER_VISIBILITY
        if visibility == "all":
            return self.all()
        if visibility == "own":
            return self.filter(owner=user)
        if visibility == "own_instance":
            return self.filter(instance__owner=user)
        if visibility == "own_instance_or_volume":
            return self.filter(
                models.Q(instance__owner=user)
                | models.Q(volume__owner=user)
                | models.Q(volume_snapshot__owner=user)
            )
        if visibility == "own_or_public":
            return self.filter(models.Q(owner=user) | models.Q(is_public=True))
        return self.none()


class InstanceQuerySet(VisibleQuerySet):
    def holding_resources(self):
        """The instances that take their node's capacity (states.HOLDS_RESOURCES)."""
        launched_in_error = models.Q(vm_state=VmState.ERROR, launched_at__isnull=False)
        return self.filter(models.Q(vm_state__in=HOLDS_RESOURCES) | launched_in_error)


class ImageQuerySet(VisibleQuerySet):
    def available(self):
        """The images that can be launched (not one still being made)."""
        return self.filter(status=ImageStatus.AVAILABLE)


def users_for(user):
    """The accounts user may see and manage: every one for admins, none for members (the
    rule for_user applies to Kumo's own models, for Django's user model)."""
    accounts = get_user_model().objects
    if user.is_authenticated and user.is_active and user.is_staff:
        return accounts.all()
    return accounts.none()
